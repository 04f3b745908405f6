// Better Auth's own database: a PostgreSQL database of the example's, created on first start
// (AUTH_DATABASE_URL; by default `todo_nextjs_example` on the local server) with Better Auth's
// tables (user, session, account, verification, jwks) migrated in. Server-only.
import { Pool } from "pg";
import { getMigrations } from "better-auth/db/migration";
import type { BetterAuthOptions } from "better-auth";

export const AUTH_DATABASE_URL =
  process.env.AUTH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/todo_nextjs_example";

const globalForPool = globalThis as unknown as { authPool?: Pool };

/** One pool per server process (Next.js may evaluate modules more than once in development). */
export function authPool(): Pool {
  globalForPool.authPool ??= new Pool({ connectionString: AUTH_DATABASE_URL, max: 5 });
  return globalForPool.authPool;
}

/** Creates the database when it is missing, then brings Better Auth's tables up to date. */
export async function prepareAuthDatabase(options: BetterAuthOptions): Promise<void> {
  const url = new URL(AUTH_DATABASE_URL);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = "/postgres";
  const admin = new Pool({ connectionString: url.toString(), max: 1 });
  try {
    const found = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (found.rowCount === 0) {
      await admin.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
      console.log(`created the database ${name} for Better Auth`);
    }
  } catch (error) {
    // Another process may have created it at the same moment; the migration below tells.
    if ((error as { code?: string }).code !== "42P04") throw error;
  } finally {
    await admin.end();
  }
  const { toBeCreated, toBeAdded, runMigrations } = await getMigrations(options);
  if (toBeCreated.length > 0 || toBeAdded.length > 0) {
    await runMigrations();
    console.log(`Better Auth tables ready in ${name}`);
  }
}
