// @ts-check
// What the steps share: named steps with timings, screenshots, the guard that fails a run on
// any console error, page error, failed request or error answer the test did not expect, and
// a typed-enough GraphQL caller for checking what the server holds.
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";

export const SCREENSHOTS = path.resolve(import.meta.dirname, "..", "e2e-screenshots");
/** Screenshots are named after the server's backend: both runs' stay side by side. */
let backendPrefix = "";

/** @typedef {import("playwright-core").Page} Page */
/** @typedef {import("playwright-core").BrowserContext} BrowserContext */

/** Runs the named steps in order; the first failure ends the run (later steps depend on it). */
export class Steps {
  /** @type {{ name: string, ms: number, outcome: "passed" | "failed" | "skipped", why?: string }[]} */
  results = [];
  /** @param {string} backend */
  constructor(backend) {
    this.backend = backend;
    backendPrefix = backend;
    mkdirSync(SCREENSHOTS, { recursive: true });
    // This backend's screenshots from an earlier run, failures included, go.
    for (const name of readdirSync(SCREENSHOTS)) {
      if (name.startsWith(`${backend}-`) || name.startsWith(`FAILED-${backend}-`)) {
        rmSync(path.join(SCREENSHOTS, name));
      }
    }
  }

  /**
   * @param {string} name
   * @param {() => Promise<void>} body
   * @param {Page[]} pages screenshotted on failure
   */
  async run(name, body, pages = []) {
    const started = Date.now();
    try {
      await body();
      guard.check();
      this.results.push({ name, ms: Date.now() - started, outcome: "passed" });
      console.log(`  ✓ ${name} (${Date.now() - started} ms)`);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      this.results.push({ name, ms: Date.now() - started, outcome: "failed", why });
      console.log(`  ✗ ${name} (${Date.now() - started} ms)\n${indent(why)}`);
      for (const [i, page] of pages.entries()) {
        await page
          .screenshot({ path: path.join(SCREENSHOTS, `FAILED-${this.backend}-${slug(name)}-${i}.png`), fullPage: true })
          .catch(() => {});
      }
      throw new StepFailed(name);
    }
  }

  /** A step that cannot run yet; it is listed, never counted as passed. @param {string} name @param {string} why */
  skip(name, why) {
    this.results.push({ name, ms: 0, outcome: "skipped", why });
    console.log(`  - ${name}: skipped (${why})`);
  }

  summary() {
    const count = (/** @type {string} */ outcome) => this.results.filter((r) => r.outcome === outcome).length;
    return { passed: count("passed"), failed: count("failed"), skipped: count("skipped") };
  }
}

export class StepFailed extends Error {}

/** @param {string} text */
const indent = (text) => text.split("\n").map((line) => `      ${line}`).join("\n");
/** @param {string} text */
const slug = (text) => text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");

/** @param {Page} page @param {string} name */
export async function screenshot(page, name) {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${backendPrefix}-${name}.png`), fullPage: true });
}

/**
 * Collects what went wrong in any page of any watched context. Problems are expected only
 * inside `guard.expecting(reason, body)` (going offline, a deliberately lost answer), and only
 * the kinds listed there.
 */
export const guard = {
  /** @type {string[]} */
  problems: [],
  /** @type {RegExp | null} what may fail right now */
  allowed: null,

  /** @param {BrowserContext} context @param {string} who */
  watch(context, who) {
    context.on("page", (page) => this.watchPage(page, who));
    for (const page of context.pages()) this.watchPage(page, who);
  },

  /** @param {Page} page @param {string} who */
  watchPage(page, who) {
    page.on("console", (message) => {
      if (message.type() !== "error") return;
      const where = message.location().url;
      this.report(`${who}: console error: ${message.text()}${where ? ` (${where})` : ""}`);
    });
    page.on("pageerror", (error) => this.report(`${who}: page error: ${error.message}`));
    page.on("requestfailed", (request) => {
      const failure = request.failure()?.errorText ?? "failed";
      // Next.js cancels a route's prefetch when the user navigates first: not an error.
      if (failure === "net::ERR_ABORTED" && request.url().includes("_rsc=")) return;
      this.report(`${who}: request failed: ${request.method()} ${request.url()} (${failure})`);
    });
    page.on("response", (response) => {
      if (response.status() >= 400) {
        this.report(`${who}: ${response.status()} from ${response.request().method()} ${response.url()}`);
      }
    });
    page.on("websocket", (socket) => {
      // A close is no error by itself: the server ends a socket with its token (4401).
      socket.on("socketerror", (error) => this.report(`${who}: WebSocket error: ${error}`));
    });
  },

  /** @param {string} problem */
  report(problem) {
    if (this.allowed?.test(problem)) return;
    this.problems.push(problem);
  },

  /**
   * @template T
   * @param {RegExp} allowed the problems this part may cause
   * @param {() => Promise<T>} body
   */
  async expecting(allowed, body) {
    this.allowed = allowed;
    try {
      return await body();
    } finally {
      this.allowed = null;
    }
  },

  check() {
    if (this.problems.length > 0) {
      const problems = this.problems.splice(0);
      throw new Error(`unexpected in the browser:\n${problems.join("\n")}`);
    }
  },
};

/**
 * Asks todo-api directly, as the signed-in user of `context` (a JWT from the app's Better
 * Auth, through the context's session cookie).
 * @param {BrowserContext} context @param {{ app: string, api: string }} urls
 */
export function apiAs(context, urls) {
  /**
   * @param {string} query
   * @param {Record<string, unknown>} [variables]
   * @returns {Promise<any>}
   */
  return async function graphql(query, variables = {}) {
    const tokenAnswer = await context.request.get(`${urls.app}/api/auth/token`);
    if (!tokenAnswer.ok()) throw new Error(`/api/auth/token answered ${tokenAnswer.status()}`);
    const { token } = await tokenAnswer.json();
    const response = await fetch(`${urls.api}/graphql`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ query, variables }),
    });
    const body = await response.json();
    if (body.errors) throw new Error(`GraphQL: ${JSON.stringify(body.errors)}`);
    return body.data;
  };
}

/** @param {unknown} actual @param {unknown} expected @param {string} what */
export function equal(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}
