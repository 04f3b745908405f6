#!/usr/bin/env bash
# Issue 41's write A/B, from the repository's root: REST create and toggle through a release
# build against `pgbench -M prepared` running the plain INSERT / UPDATE on a table of the same
# columns and indexes with no trigger, no policy and no NOTIFY (plain_tasks), 64 clients each,
# 10 s slices, interleaved; "before" is the same binary with 000071's journal_notify swapped
# for the one before it (down.sql: NOTIFY inside every write's transaction), so only the lock
# differs (up to migration 000071: since 000072 the journal's single-row path defers or
# notifies by itself, so this swap changes only statements of several rows; its figures in
# benches/README were taken at 2f27056). Wait events of the active backends are sampled every 200 ms during the creates.
# Needs wrk and pgbench; PostgreSQL on 127.0.0.1:5432 (trust, user postgres); it stops by
# itself (each slice is 10 s) and drops nothing but its own database on the next run.
set -euo pipefail
BIN=${BIN:-target/release/todo-api}
DB=bench_writes
DIR=benches/writes
M=migrations/postgres/2026-11-26-000071_events_after_commit
SECRET=bench-secret-that-is-long-enough-for-hs256-xx
PSQL="psql -h 127.0.0.1 -U postgres -q"
. "$DIR/seed.sh"
RUST_LOG=warn "$BIN" serve --database-url "postgres://postgres@127.0.0.1:5432/$DB" \
  --auth-secret $SECRET --host 127.0.0.1 --port 8041 --rate-limit 0 --db-pool-size 32 \
  > "$DIR/server.log" 2>&1 &
server=$!
trap 'kill $server' EXIT
sleep 3
http() { wrk -t2 -c64 -d10s -s "$DIR/$1" http://127.0.0.1:8041 | grep -E "Requests/sec|Non-2xx" | tr '\n' ' '; echo; }
plain() { pgbench -h 127.0.0.1 -U postgres -n -M prepared -c 64 -j 2 -T 10 -f "$DIR/$1" $DB 2>&1 | awk '/^tps/ {print $3}'; }
for round in 1 2; do
  echo "== round $round"
  echo "pgbench plain INSERT: $(plain plain_insert.pgb)"
  $PSQL -d $DB -f $M/up.sql
  "$DIR/wait.sh" $DB 40 > "$DIR/waits_after_$round.txt" &
  sampler=$!
  echo "REST create, after commit: $(http create.lua)"; wait $sampler
  $PSQL -d $DB -f $M/down.sql
  "$DIR/wait.sh" $DB 40 > "$DIR/waits_before_$round.txt" &
  sampler=$!
  echo "REST create, NOTIFY in the transaction: $(http create.lua)"; wait $sampler
  $PSQL -d $DB -f $M/up.sql
  echo "pgbench plain UPDATE: $(plain plain_update.pgb)"
  echo "REST toggle, after commit: $(http toggle.lua)"
  $PSQL -d $DB -f $M/down.sql
  echo "REST toggle, NOTIFY in the transaction: $(http toggle.lua)"
  $PSQL -d $DB -f $M/up.sql
  echo "waits during the creates, after commit:"; head -4 "$DIR/waits_after_$round.txt"
  echo "waits during the creates, NOTIFY in the transaction:"; head -4 "$DIR/waits_before_$round.txt"
done
