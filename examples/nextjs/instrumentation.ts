// Runs once when the Next.js server starts: the auth database is made ready before the first
// request (https://nextjs.org/docs/app/guides/instrumentation).
export async function register() {
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { prepareAuthDatabase } = await import("./lib/auth-db");
    const { authOptions } = await import("./lib/auth");
    await prepareAuthDatabase(authOptions);
  }
}
