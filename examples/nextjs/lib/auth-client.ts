// Better Auth (browser): same origin as the app; `jwtClient` adds `authClient.token()`.
import { createAuthClient } from "better-auth/react";
import { jwtClient } from "better-auth/client/plugins";

export const authClient = createAuthClient({ plugins: [jwtClient()] });
