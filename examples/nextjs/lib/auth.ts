// Better Auth (server): email and password, and its JWT plugin, whose tokens todo-api
// verifies through the JWKS at /api/auth/jwks (EdDSA, Better Auth's default). Server-only.
import { betterAuth, type BetterAuthOptions } from "better-auth";
import { jwt } from "better-auth/plugins";
import { authPool } from "./auth-db";

// `next build` loads this module without running it; nothing is signed then, so a
// placeholder keeps Better Auth from refusing its missing production secret.
const building = process.env.NEXT_PHASE === "phase-production-build";

export const authOptions = {
  // The app's own origin: the issuer and audience of its JWTs, which todo-api checks
  // (todo-api's BETTER_AUTH_URL must be the same).
  baseURL: process.env.BETTER_AUTH_URL ?? "http://localhost:3000",
  secret: process.env.BETTER_AUTH_SECRET ?? (building ? "build-placeholder-".repeat(3) : undefined),
  database: authPool(),
  emailAndPassword: { enabled: true, autoSignIn: true, minPasswordLength: 8 },
  // 15 minutes, Better Auth's default; the browser test shortens it to see live sockets
  // outlive their tokens (todo-api closes a socket with 4401 when its token ends).
  plugins: [jwt({ jwt: { expirationTime: process.env.AUTH_JWT_LIFETIME ?? "15m" } })],
  telemetry: { enabled: false },
} satisfies BetterAuthOptions;

export const auth = betterAuth(authOptions);
