// @ts-check
// `npm run e2e`: the whole app in a real browser. Builds what is missing (the server with
// cargo unless TODO_API_BIN names one; the app with `next build` when its sources are newer
// than its build), starts todo-api and the built app on free ports, each on a database of its
// own made for this run and dropped after it, and drives Debian's Chromium through
// playwright-core (no browser is downloaded). DATABASE_URL picks the server's backend: unset
// or sqlite:… is SQLite (a temp file), postgres://… is a fresh database on that server.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { chromium } from "playwright-core";
import { story } from "./steps.mjs";
import { StepFailed, Steps } from "./support.mjs";

const EXAMPLE = path.resolve(import.meta.dirname, "..");
const REPO = path.resolve(EXAMPLE, "..", "..");
const POSTGRES = process.env.E2E_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const started = Date.now();
const logs = mkdtempSync(path.join(tmpdir(), "todo-e2e-"));
/** @type {(() => Promise<void> | void)[]} */
const cleanups = [];

const serverUrl = process.env.DATABASE_URL ?? "";
const backend = /^postgres(ql)?:/.test(serverUrl) ? "postgres" : "sqlite";

async function main() {
  const bin = serverBinary();
  buildAppIfStale();
  const [appPort, apiPort] = [await freePort(), await freePort()];
  const urls = { app: `http://127.0.0.1:${appPort}`, api: `http://127.0.0.1:${apiPort}` };
  const authDatabase = await freshDatabase(POSTGRES, "todo_nextjs_e2e_auth");
  const apiDatabase =
    backend === "postgres"
      ? await freshDatabase(serverUrl, "todo_nextjs_e2e_api")
      : `sqlite://${path.join(logs, "todo.db")}`;

  console.log(`e2e on ${backend}: app ${urls.app}, API ${urls.api}, logs in ${logs}`);
  start("app", path.join(EXAMPLE, "node_modules", ".bin", "next"), ["start", "-H", "127.0.0.1", "-p", String(appPort)], {
    cwd: EXAMPLE,
    env: {
      ...process.env,
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      BETTER_AUTH_URL: urls.app,
      BETTER_AUTH_SECRET: randomBytes(32).toString("hex"),
      AUTH_DATABASE_URL: authDatabase,
      TODO_API_URL: urls.api,
      // Short-lived JWTs: the live sockets outlive several (todo-api ends each with 4401).
      AUTH_JWT_LIFETIME: "20s",
    },
  });
  await waitFor(`${urls.app}/sign-in`, "the app");
  const serverEnv = { ...process.env };
  for (const name of ["BETTER_AUTH_SECRET", "JWT_SECRET", "JWKS_URL", "CORS_ORIGINS", "RUST_LOG"]) delete serverEnv[name];
  start("server", bin, [], {
    cwd: logs,
    env: {
      ...serverEnv,
      DATABASE_URL: apiDatabase,
      HOST: "127.0.0.1",
      PORT: String(apiPort),
      BETTER_AUTH_URL: urls.app,
      CORS_ORIGINS: urls.app,
      LOG_FORMAT: "json",
      JWT_LEEWAY: "0s",
    },
  });
  await waitFor(`${urls.api}/healthz`, "todo-api");

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    // Chromium's sandbox cannot start as root (containers, CI): it is the browser's own
    // protection against the pages it shows, and these pages are the test's.
    args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
  });
  cleanups.push(() => browser.close());
  const steps = new Steps(backend);
  let failed = false;
  try {
    await story(browser, urls, steps);
  } catch (error) {
    failed = true;
    if (!(error instanceof StepFailed)) console.error(error);
  }
  const { passed, skipped } = steps.summary();
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`e2e (${backend}): ${passed} steps passed, ${failed ? 1 : 0} failed, ${skipped} skipped in ${seconds} s`);
  if (failed) {
    for (const name of ["app", "server"]) {
      console.log(`--- last lines of the ${name}'s log (${path.join(logs, `${name}.log`)}):`);
      console.log(readFileSync(path.join(logs, `${name}.log`), "utf8").split("\n").slice(-25).join("\n"));
    }
  }
  return failed ? 1 : 0;
}

/** The server binary: TODO_API_BIN, or the repository's debug build (built now, incrementally). */
function serverBinary() {
  if (process.env.TODO_API_BIN) return path.resolve(process.env.TODO_API_BIN);
  console.log("building todo-api (cargo build)…");
  const build = spawnSync("cargo", ["build", "--quiet"], { cwd: REPO, stdio: "inherit" });
  if (build.status !== 0) throw new Error("cargo build failed");
  const target = process.env.CARGO_TARGET_DIR ?? path.join(REPO, "target");
  return path.join(target, "debug", "todo-api");
}

/** `next build` when there is no build, or a source file is newer than it. */
function buildAppIfStale() {
  const stamp = path.join(EXAMPLE, ".next", "BUILD_ID");
  const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
  const sources = ["app", "components", "lib", "next.config.ts", "package-lock.json", "../../schema.graphql"];
  const newest = Math.max(...sources.map((s) => newestMtime(path.join(EXAMPLE, s))));
  if (built >= newest) return;
  console.log("building the app (npm run build)…");
  const build = spawnSync("npm", ["run", "build"], { cwd: EXAMPLE, stdio: "inherit" });
  if (build.status !== 0) throw new Error("npm run build failed");
}

/** @param {string} file @returns {number} */
function newestMtime(file) {
  if (!existsSync(file) || file.endsWith(`${path.sep}gql`)) return 0;
  const stat = statSync(file);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(file).map((name) => newestMtime(path.join(file, name))));
}

/** A database made for this run on the server of `url`, dropped at the end. @param {string} url @param {string} prefix */
async function freshDatabase(url, prefix) {
  const name = `${prefix}_${process.pid}_${randomBytes(3).toString("hex")}`;
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  cleanups.push(async () => {
    const dropper = new pg.Client({ connectionString: admin.toString() });
    await dropper.connect();
    await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await dropper.end();
  });
  const fresh = new URL(url);
  fresh.pathname = `/${name}`;
  return fresh.toString();
}

/** @param {string} name @param {string} command @param {string[]} args @param {import("node:child_process").SpawnOptions} options */
function start(name, command, args, options) {
  const log = openSync(path.join(logs, `${name}.log`), "a");
  const child = spawn(command, args, { ...options, stdio: ["ignore", log, log], detached: true });
  let exited = false;
  child.on("exit", (code, signal) => {
    exited = true;
    if (!stopping) console.error(`${name} exited early (${signal ?? code}); see ${path.join(logs, `${name}.log`)}`);
  });
  cleanups.push(
    () =>
      new Promise((resolve) => {
        if (exited || child.pid === undefined) return resolve();
        child.once("exit", () => resolve());
        process.kill(-child.pid, "SIGTERM");
        setTimeout(() => {
          if (!exited && child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
        }, 5000).unref();
      }),
  );
}
let stopping = false;

/** @returns {Promise<number>} */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** @param {string} url @param {string} what */
async function waitFor(url, what) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${what} did not answer ${url} within 60 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** @param {boolean} keepLogs */
async function cleanup(keepLogs) {
  stopping = true;
  for (const step of cleanups.reverse()) {
    await Promise.resolve()
      .then(step)
      .catch((error) => console.error(`cleanup: ${error.message}`));
  }
  if (!keepLogs && !process.env.E2E_KEEP_LOGS) rmSync(logs, { recursive: true, force: true });
}

let code = 1;
try {
  code = await main();
} catch (error) {
  console.error(`e2e (${backend}): ${error instanceof Error ? error.message : error}`);
} finally {
  await cleanup(code !== 0);
}
process.exit(code);
