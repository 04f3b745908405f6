#!/usr/bin/env bash
# The task cap's count, counted against kept (migration 000079), from the repository's root
# (`BIN=target/release/todo-api TASKS=1000 bash benches/writes/task_counts.sh`): seeds
# bench_writes with 1,000 users x TASKS tasks (seed.sh; BIN must carry 000079), then per round
# runs pgbench -M prepared, 64 clients, on the server's create transaction as it sends it
# (create_pipelined.pgb) twice: with 000079 reverted (its down.sql: each create counts its
# owner's tasks) and with it applied again (its up.sql: each create reads its owner's row).
# With VACUUM=1 (the default) the table is vacuumed before each slice, so a count reads an
# all-visible index (its best case); with VACUUM=0 it reads the heap of every task not yet
# vacuumed. Each slice adds about 10 s of creates. Settings: BIN, TASKS (1000), ROUNDS (3),
# SECONDS_PER_SLICE (10), VACUUM (1). Targets 127.0.0.1 only; stops by itself.
set -euo pipefail
BIN=${BIN:-target/release/todo-api}
S=${SECONDS_PER_SLICE:-10}
ROUNDS=${ROUNDS:-3}
export TASKS=${TASKS:-1000}
DB=bench_writes
DIR=benches/writes
SECRET=bench-secret-that-is-long-enough-for-hs256-xx
PSQL="psql -h 127.0.0.1 -U postgres -q -v ON_ERROR_STOP=1"
MIGRATION=migrations/postgres/2026-11-27-000079_task_counts
. "$DIR/seed.sh"
create() {
  [ "${VACUUM:-1}" = 0 ] || $PSQL -d $DB -c "VACUUM tasks"
  pgbench -h 127.0.0.1 -U postgres -n -M prepared -c 64 -j 2 -T "$S" -f "$DIR/create_pipelined.pgb" $DB 2>&1 |
    awk '/^tps/ {printf "%.0f", $3}'
}
echo "| round | counted (000079 reverted) | kept (000079) |"
echo "|---|---:|---:|"
for round in $(seq 1 "$ROUNDS"); do
  $PSQL -d $DB -f "$MIGRATION/down.sql"
  counted=$(create)
  $PSQL -d $DB -f "$MIGRATION/up.sql"
  kept=$(create)
  echo "| $round | $counted | $kept |"
done
