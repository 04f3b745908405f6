// Better Auth's endpoints: sign-up, sign-in, session, /token (the JWT for todo-api), /jwks.
import { toNextJsHandler } from "better-auth/next-js";
import { auth } from "@/lib/auth";

export const { GET, POST } = toNextJsHandler(auth);
