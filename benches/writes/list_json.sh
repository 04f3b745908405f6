#!/usr/bin/env bash
# Issue 61's first question, from the repository's root
# (`BIN=target/release/todo-api bash benches/writes/list_json.sh`): what does the database pay
# to build a list's JSON itself? In one run, per round, pgbench -M prepared, 64 clients:
#   1. the plain list (list.pgb: one SELECT on plain_tasks, no trigger, no policy);
#   2. the server's list read as it sends it (list_pipelined.pgb, row security on);
#   3. the same read with its page turned into the response's JSON text by the database
#      (list_json_pipelined.pgb: compact, today's field order, one text value per page);
# then the release server's REST list through wrk (list.lua), with the server's own CPU per
# request. Each gives its rate, its share of the plain list's and the machine's busy CPU per
# transaction (/proc/stat: client included). Before the rounds it checks that (3)'s text is
# byte for byte the body the server answers for the same user (else it stops: the figure
# would be for another statement). Seeds bench_writes (seed.sh). Settings: BIN, ROUNDS (2),
# SECONDS_PER_SLICE (10), POOL (32), WRK (1; 0 leaves out the server's row, for a debug BIN).
# Targets 127.0.0.1 only; stops by itself.
set -euo pipefail
WRK=${WRK:-1}
. benches/writes/measure.sh
. "$DIR/seed.sh"
server=
cleanup() { [ -z "$server" ] || kill "$server" 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

RUST_LOG=warn "$BIN" serve --database-url "postgres://postgres@127.0.0.1:5432/$DB" \
  --auth-secret $SECRET --host 127.0.0.1 --port 8041 --rate-limit 0 --db-pool-size "$POOL" \
  > /tmp/list_json_server.log 2>&1 &
server=$!
for _ in $(seq 1 120); do curl -sf -o /dev/null http://127.0.0.1:8041/readyz && break; sleep 0.25; done
# The byte check, for u7: the statement's text (psql: unaligned, no header) against the body.
statement=$(grep -v '^\\\|^--\|^BEGIN\|^COMMIT\|^SET LOCAL\|^SELECT set_config' "$DIR/list_json_pipelined.pgb" | sed 's/:u/7/g')
$PSQL -d $DB -tA -c "SET ROLE todo_api_app" -c "SELECT set_config('app.user_id', 'u7', false)" \
  -c "SET enable_bitmapscan = off" -c "$statement" | tail -n 1 | tr -d "\n" > /tmp/list_json_db.json
curl -sf -H "Authorization: Bearer $(sed -n 8p $DIR/tokens.txt)" \
  http://127.0.0.1:8041/api/u7/tasks > /tmp/list_json_server.json
if cmp -s /tmp/list_json_db.json /tmp/list_json_server.json; then
  echo "byte check: the statement's text is the server's body for u7 ($(wc -c < /tmp/list_json_server.json) bytes)"
else
  echo "byte check FAILED: /tmp/list_json_db.json differs from /tmp/list_json_server.json" >&2; exit 1
fi

for round in $(seq 1 "$ROUNDS"); do
  list=$(bench list.pgb); ours=$(bench list_pipelined.pgb); json=$(bench list_json_pipelined.pgb)
  [ "$WRK" = 0 ] || r_list=$(rest list.lua)
  echo
  echo "### Round $round"
  echo
  echo "| 64 clients, $S s | per s | of the plain list | machine CPU per list |"
  echo "|---|---:|---:|---:|"
  row "pgbench plain list" "$list" "${list%% *}"
  row "pgbench, our list read" "$ours" "${list%% *}"
  row "pgbench, our list read, its JSON built by the database" "$json" "${list%% *}"
  [ "$WRK" = 0 ] || row "REST list (server $(cut -d' ' -f3 <<< "$r_list") µs a request, $(cut -d' ' -f4 <<< "$r_list") errors)" "$r_list" "${list%% *}"
done
