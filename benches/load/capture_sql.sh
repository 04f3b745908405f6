#!/usr/bin/env bash
# The SQL the server sends for each request of the bench, as PostgreSQL logs it
# (log_statement = all), to write the ceiling's "exact" scripts (load/ceiling.rs) from.
#
#   benches/load/capture_sql.sh [TODO_API_BINARY]   (default: target/debug/todo-api)
#
# Starts the binary on a scratch database with log_statement = 'all', does one request of each
# kind the bench does (REST list, GraphQL list, then create and toggle through each API, each
# twice: the second is the warm one, with its statements already prepared), and prints the
# log lines of that database between markers. Needs PostgreSQL on 127.0.0.1:5432 (user
# postgres, trust) and read access to its log. Drops the database at the end.
set -euo pipefail
bin=${1:-target/debug/todo-api}
log=${PG_LOG:-/var/log/postgresql/postgresql-15-main.log}
db=bench_capture_$$
psql=(psql -h 127.0.0.1 -U postgres -X -q -At)
secret='test-secret-that-is-long-enough-for-hs256!!'
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
scratch=$(mktemp -d)
cleanup() {
  [[ -n ${pid:-} ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  "${psql[@]}" -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT
"${psql[@]}" -d postgres -c "CREATE DATABASE $db"
"${psql[@]}" -d postgres -c "ALTER DATABASE $db SET log_statement = 'all'"
bin=$(realpath "$bin")
# exec: $! is the server itself, which the cleanup stops.
(cd "$scratch" && exec env -i PATH="$PATH" DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable" \
  HOST=127.0.0.1 PORT="$port" BETTER_AUTH_SECRET="$secret" DB_POOL_SIZE=1 \
  RATE_LIMIT=0 ANONYMOUS_RATE_LIMIT=0 RUST_LOG=warn "$bin" serve >server.log 2>&1) &
pid=$!
for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
token=$(BETTER_AUTH_SECRET="$secret" "$bin" token u0)
api=(curl -sf -H "authorization: Bearer $token" -H 'content-type: application/json')
gql() { "${api[@]}" "http://127.0.0.1:$port/graphql" -d "$1" >/dev/null; }
# Tasks to list and toggle, before the log is read.
for i in 1 2 3; do "${api[@]}" "http://127.0.0.1:$port/api/u0/tasks" -d "{\"title\":\"seed $i\"}" >/dev/null; done
id=$("${api[@]}" "http://127.0.0.1:$port/api/u0/tasks" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
start=$(stat -c %s "$log")
mark() { "${psql[@]}" -d "$db" -c "SELECT 'MARK $1'" >/dev/null; }
for round in cold warm; do
  mark "$round rest-list"; "${api[@]}" "http://127.0.0.1:$port/api/u0/tasks" >/dev/null
  mark "$round graphql-list"
  gql '{"query":"{ tasks { id title description completed createdAt updatedAt } }"}'
  mark "$round rest-create"; "${api[@]}" "http://127.0.0.1:$port/api/u0/tasks" -d '{"title":"bench"}' >/dev/null
  mark "$round rest-toggle"; "${api[@]}" -X PATCH "http://127.0.0.1:$port/api/u0/tasks/$id/complete" >/dev/null
  mark "$round graphql-create"
  gql '{"query":"mutation($t: String!) { createTask(input: {title: $t}) { id title completed createdAt } }","variables":{"t":"bench"}}'
  mark "$round graphql-toggle"
  gql "{\"query\":\"mutation(\$id: ID!) { toggleTask(id: \$id) { id completed } }\",\"variables\":{\"id\":\"$id\"}}"
done
mark end
sleep 0.5
tail -c +"$((start + 1))" "$log" | grep -a "@$db " | sed -E "s/^.*@$db //"
