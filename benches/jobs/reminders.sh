#!/usr/bin/env bash
# Reminders (issue 43), from the repository's root: one release server (BIN) on a database of
# 1,000 users x 50 tasks (../writes/seed.sh), then
#   1. a burst: 10,000 tasks (10 per user) whose reminders all come due at the same instant;
#      how long until every one fired, the rate, and the delay of each (reminded_at - remind_at);
#   2. a trickle: 300 reminders due one every 50 ms over 15 s, the delay's p50 / p99 / max;
#   3. with INSTANCES=2, both runs again with two servers on the database (each fires once).
# Needs PostgreSQL on 127.0.0.1:5432 (trust, user postgres); stops by itself.
#   BIN=/work/bench-target/release/todo-api benches/jobs/reminders.sh
set -euo pipefail
BIN=${BIN:-target/release/todo-api}
DIR=benches/writes
DB=bench_reminders
SECRET=bench-secret-that-is-long-enough-for-hs256-xx
PSQL="psql -h 127.0.0.1 -U postgres -q"
. "$DIR/seed.sh"
Q() { $PSQL -d $DB -tAc "$1"; }
pids=()
for port in $(seq 8051 $((8050 + ${INSTANCES:-1}))); do
  RUST_LOG=warn "$BIN" serve --database-url "postgres://postgres@127.0.0.1:5432/$DB" \
    --auth-secret $SECRET --host 127.0.0.1 --port "$port" --rate-limit 0 > "/tmp/reminders_$port.log" 2>&1 &
  pids+=($!)
done
trap 'kill ${pids[*]}' EXIT
sleep 3
# Waits until $1 reminders have fired (at most 120 s), printing how long it took.
until_fired() {
  local start=$(date +%s.%N)
  for _ in $(seq 1 1200); do
    [ "$(Q "SELECT count(*) FROM tasks WHERE reminded_at IS NOT NULL")" -ge "$1" ] && break
    sleep 0.1
  done
  echo "$(date +%s.%N) - $start" | bc
}
delays() {
  Q "SELECT 'delay ms: p50 ' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY d)::numeric, 1)
          || ', p99 ' || round(percentile_cont(0.99) WITHIN GROUP (ORDER BY d)::numeric, 1)
          || ', max ' || round(max(d)::numeric, 1) || ' (' || count(*) || ' fired, '
          || 'versions gained: ' || string_agg(DISTINCT version::text, ',') || ')'
     FROM (SELECT extract(epoch FROM t.reminded_at - t.remind_at) * 1000 AS d,
                  t.version - b.version AS version
             FROM tasks t JOIN bench_versions b USING (id) WHERE t.reminded_at IS NOT NULL) s"
}
echo "== burst: 10,000 due at one instant, ${INSTANCES:-1} instance(s)"
Q "UPDATE tasks SET remind_at = date_trunc('second', now()) + interval '3 seconds'
    WHERE id IN (SELECT id FROM tasks WHERE NOT completed ORDER BY id LIMIT 10000)" >/dev/null
# The versions before: each reminder fired once is one more.
Q "DROP TABLE IF EXISTS bench_versions; CREATE TABLE bench_versions AS SELECT id, version FROM tasks" >/dev/null
due=$(Q "SELECT extract(epoch FROM max(remind_at)) FROM tasks")
sleep "$(echo "$due - $(date +%s.%N)" | bc)"
took=$(until_fired 10000)
echo "all fired $took s after their time: $(echo "10000 / $took" | bc) reminders/s"
delays
echo "== trickle: 300 due one every 50 ms"
Q "UPDATE tasks SET remind_at = NULL, reminded_at = NULL WHERE remind_at IS NOT NULL" >/dev/null
Q "UPDATE tasks SET remind_at = now() + interval '2 seconds' + (id % 300) * interval '50 ms'
    WHERE id IN (SELECT id FROM tasks WHERE NOT completed ORDER BY id LIMIT 300)" >/dev/null
Q "DROP TABLE bench_versions; CREATE TABLE bench_versions AS SELECT id, version FROM tasks" >/dev/null
sleep 17
until_fired 300 >/dev/null
delays
