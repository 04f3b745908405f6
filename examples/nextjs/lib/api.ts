// The typed GraphQL client for todo-api: queries and mutations over HTTP (urql), the live
// subscription over WebSocket (graphql-ws), both with a Better Auth JWT.
import { Client, CombinedError, fetchExchange } from "@urql/core";
import { createClient as createWsClient, type Client as WsClient } from "graphql-ws";
import { print } from "graphql";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { authClient } from "./auth-client";

/**
 * Better Auth's JWTs live 15 minutes: one is kept and replaced a minute (at most a quarter of
 * its life) before it ends.
 */
let cached: { token: string; expires: number; margin: number } | null = null;

export async function getToken(fresh = false): Promise<string> {
  if (!fresh && cached && cached.expires - Date.now() > cached.margin) return cached.token;
  let answer: Awaited<ReturnType<typeof authClient.token>>;
  try {
    answer = await authClient.token();
  } catch (error) {
    throw new NetworkError(`no token: ${error}`);
  }
  const { data, error } = answer;
  // No answer (offline) or the app's server failing: a retry may work. Otherwise signed out.
  if (error && (!error.status || error.status >= 500)) throw new NetworkError(`no token: ${error.message}`);
  if (error || !data) throw new ApiError("UNAUTHENTICATED", error?.message ?? "Not signed in");
  const payload = JSON.parse(atob(data.token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  const life = (payload.exp - payload.iat) * 1000;
  cached = { token: data.token, expires: payload.exp * 1000, margin: Math.min(60_000, life / 4) };
  return data.token;
}

export function forgetToken() {
  cached = null;
}

/** An answer the server gave (`code` is its `extensions.code`), as opposed to no answer. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

/** No answer at all: offline, the server down, the connection dropped. Retry later. */
export class NetworkError extends Error {}

export function httpUrl(apiUrl: string) {
  return `${apiUrl.replace(/\/$/, "")}/graphql`;
}

export function createApi(apiUrl: string) {
  const http = new Client({
    url: httpUrl(apiUrl),
    exchanges: [fetchExchange],
    requestPolicy: "network-only",
    preferGetMethod: false,
    fetch: async (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set("Authorization", `Bearer ${await getToken()}`);
      return fetch(input, { ...init, headers });
    },
  });

  /** Runs one operation; throws ApiError for the server's refusals, NetworkError otherwise. */
  async function request<Data, Vars extends Record<string, unknown>>(
    document: TypedDocumentNode<Data, Vars>,
    variables: Vars,
    kind: "query" | "mutation",
  ): Promise<Data> {
    for (let attempt = 0; ; attempt++) {
      const result =
        kind === "query"
          ? await http.query(document, variables).toPromise()
          : await http.mutation(document, variables).toPromise();
      if (result.error) {
        const error = toError(result.error);
        // An expired token: fetch a new one and try once more.
        if (error instanceof ApiError && error.code === "UNAUTHENTICATED" && attempt === 0) {
          forgetToken();
          continue;
        }
        throw error;
      }
      if (!result.data) throw new NetworkError("empty answer");
      return result.data;
    }
  }

  const ws: WsClient = createWsClient({
    url: httpUrl(apiUrl).replace(/^http/, "ws"),
    connectionParams: async () => ({ Authorization: `Bearer ${await getToken()}` }),
    retryAttempts: Infinity,
    // 0.5 s, 1 s, 2 s … up to 10 s between attempts.
    retryWait: (retries) => new Promise((r) => setTimeout(r, Math.min(10_000, 500 * 2 ** retries))),
  });

  return {
    query: <Data, Vars extends Record<string, unknown>>(
      document: TypedDocumentNode<Data, Vars>,
      variables: Vars,
    ) => request(document, variables, "query"),
    mutate: <Data, Vars extends Record<string, unknown>>(
      document: TypedDocumentNode<Data, Vars>,
      variables: Vars,
    ) => request(document, variables, "mutation"),
    /** Subscribes; returns the function that ends it. */
    subscribe<Data>(
      document: TypedDocumentNode<Data, Record<string, never>>,
      sink: { next: (data: Data) => void; error: (error: unknown) => void },
    ): () => void {
      return ws.subscribe<Data>(
        { query: print(document) },
        {
          next: (result) => {
            if (result.errors?.length) sink.error(result.errors[0]);
            else if (result.data) sink.next(result.data as Data);
          },
          error: sink.error,
          complete: () => {},
        },
      );
    },
    onConnected: (listener: () => void) => ws.on("connected", listener),
    onClosed: (listener: (code: number | null) => void) =>
      ws.on("closed", (event) => listener((event as CloseEvent | undefined)?.code ?? null)),
    dispose: () => ws.dispose(),
  };
}

export type Api = ReturnType<typeof createApi>;

/**
 * Codes by which the server says "not now" (its database busy or out of reach, a statement
 * over its time, the rate limit): nothing was done, and the same write may succeed later.
 * Treated as no answer, so the outbox keeps the write and sends it again with its key instead
 * of dropping it (which would undo, say, a completion the user saw take effect).
 */
const TRY_AGAIN_LATER = new Set(["SERVICE_UNAVAILABLE", "QUERY_TIMEOUT", "STORAGE_UNAVAILABLE", "RATE_LIMITED"]);

function toError(error: CombinedError): Error {
  const first = error.graphQLErrors[0];
  if (first) {
    const code = String(first.extensions?.code ?? "ERROR");
    if (TRY_AGAIN_LATER.has(code)) return new NetworkError(`${code}: ${first.message}`);
    const retryAfter = Number(first.extensions?.retryAfter ?? NaN);
    return new ApiError(code, first.message, Number.isFinite(retryAfter) ? retryAfter : undefined);
  }
  const response = error.response as Response | undefined;
  if (response && response.status === 401) return new ApiError("UNAUTHENTICATED", error.message);
  if (response && response.status >= 400 && response.status < 500 && response.status !== 429) {
    return new ApiError(`HTTP_${response.status}`, error.message);
  }
  return new NetworkError(error.message);
}
