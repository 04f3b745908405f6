#!/usr/bin/env bash
# Where issue 41's 40 % ends, from the repository's root
# (`BIN=target/release/todo-api bash benches/writes/ceiling.sh`): in one run, per round,
#   1. pgbench -M prepared, 64 clients, the plain INSERT / UPDATE on plain_tasks (issue 41's
#      ceiling: no trigger, no policy, no NOTIFY);
#   2. pgbench -M prepared, 64 clients, the server's own create / toggle transaction exactly as
#      it sends it, two pipelines (create_pipelined.pgb, toggle_pipelined.pgb), row security on:
#      the database's own rate for our write with no HTTP server at all; then the same with the
#      journal's triggers disabled, then with the version and search-key triggers disabled too
#      (what each guarantee costs the database; restored at the end, and on exit; a create
#      needs its search keys, and fires no version trigger, so only toggles get the third);
#   3. the plain INSERT / UPDATE inside the server's write envelope alone (envelope_*.pgb: its
#      two pipelines, BEGIN, budget, role, app.user_id, the deferral, COMMIT; no function, no
#      trigger, no policy), what the envelope costs the database;
#   4. lists and the 80/10/10 mix: the plain list (list.pgb) against the server's list read as
#      it sends it (list_pipelined.pgb: one pipeline, the shared-list filter under the
#      policies), the plain mix against the same mix of our three transactions;
#   5. the release server (pool 32): REST create / toggle, the REST and GraphQL mixes, through
#      wrk (64 connections).
# Each slice gives its rate, its share of the plain statement's, and the machine's busy CPU
# per transaction (all processes, /proc/stat, so the client's share is in it) and, for REST,
# the server process's own CPU per request. Seeds bench_writes (seed.sh). Settings: BIN,
# ROUNDS (2), SECONDS_PER_SLICE (10), POOL (32). Targets 127.0.0.1 only; stops by itself.
set -euo pipefail
. benches/writes/measure.sh
. "$DIR/seed.sh"
$PSQL -d $DB -c "GRANT SELECT, INSERT, UPDATE ON plain_tasks TO todo_api_app" \
  -c "GRANT USAGE ON SEQUENCE plain_tasks_id_seq TO todo_api_app"
JOURNAL="tasks_journal_insert, tasks_journal_update"
OTHERS="tasks_version, tasks_search_keys"
triggers() { # enable|disable NAMES
  local t
  for t in ${2//,/}; do $PSQL -d $DB -c "ALTER TABLE tasks $1 TRIGGER $t"; done
}
server=
cleanup() {
  [ -z "$server" ] || kill "$server" 2>/dev/null || true
  triggers enable "$JOURNAL, $OTHERS" || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for round in $(seq 1 "$ROUNDS"); do
  ins=$(bench plain_insert.pgb); upd=$(bench plain_update.pgb)
  e_ins=$(bench envelope_insert.pgb); e_upd=$(bench envelope_update.pgb)
  list=$(bench list.pgb); o_list=$(bench list_pipelined.pgb)
  mix=$(bench list.pgb@8 plain_insert.pgb@1 plain_update.pgb@1)
  o_mix=$(bench list_pipelined.pgb@8 create_pipelined.pgb@1 toggle_pipelined.pgb@1)
  c_all=$(bench create_pipelined.pgb); t_all=$(bench toggle_pipelined.pgb)
  triggers disable "$JOURNAL"
  c_nj=$(bench create_pipelined.pgb); t_nj=$(bench toggle_pipelined.pgb)
  triggers disable "$OTHERS"
  t_none=$(bench toggle_pipelined.pgb)
  triggers enable "$JOURNAL, $OTHERS"
  RUST_LOG=warn "$BIN" serve --database-url "postgres://postgres@127.0.0.1:5432/$DB" \
    --auth-secret $SECRET --host 127.0.0.1 --port 8041 --rate-limit 0 --db-pool-size "$POOL" \
    > "/tmp/ceiling_server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 120); do curl -sf -o /dev/null http://127.0.0.1:8041/readyz && break; sleep 0.25; done
  c_rest=$(rest create.lua); t_rest=$(rest toggle.lua)
  m_rest=$(rest mix.lua); m_gql=$(rest graphql_mix.lua)
  kill "$server"; wait "$server" 2>/dev/null || true; server=
  echo
  echo "### Round $round"
  echo
  echo "| 64 clients, $S s | per s | of the plain statement | machine CPU per write |"
  echo "|---|---:|---:|---:|"
  row "pgbench plain INSERT" "$ins" "${ins%% *}"
  row "pgbench, the plain INSERT in our envelope" "$e_ins" "${ins%% *}"
  row "pgbench, our create transaction" "$c_all" "${ins%% *}"
  row "… journal triggers off" "$c_nj" "${ins%% *}"
  row "REST create (server $(cut -d' ' -f3 <<< "$c_rest") µs a request, $(cut -d' ' -f4 <<< "$c_rest") errors)" "$c_rest" "${ins%% *}"
  row "pgbench plain UPDATE" "$upd" "${upd%% *}"
  row "pgbench, the plain UPDATE in our envelope" "$e_upd" "${upd%% *}"
  row "pgbench, our toggle transaction" "$t_all" "${upd%% *}"
  row "… journal triggers off" "$t_nj" "${upd%% *}"
  row "… and version, search-key triggers off" "$t_none" "${upd%% *}"
  row "REST toggle (server $(cut -d' ' -f3 <<< "$t_rest") µs a request, $(cut -d' ' -f4 <<< "$t_rest") errors)" "$t_rest" "${upd%% *}"
  row "pgbench plain list" "$list" "${list%% *}"
  row "pgbench, our list read" "$o_list" "${list%% *}"
  row "pgbench plain mix 80/10/10" "$mix" "${mix%% *}"
  row "pgbench, our three transactions 80/10/10" "$o_mix" "${mix%% *}"
  row "REST mix (server $(cut -d' ' -f3 <<< "$m_rest") µs a request, $(cut -d' ' -f4 <<< "$m_rest") errors)" "$m_rest" "${mix%% *}"
  row "GraphQL mix (server $(cut -d' ' -f3 <<< "$m_gql") µs a request, $(cut -d' ' -f4 <<< "$m_gql") errors)" "$m_gql" "${mix%% *}"
done
