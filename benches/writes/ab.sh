#!/usr/bin/env bash
# Writes of two builds whose migrations differ (a change to the write functions), from the
# repository's root: OLD on a database it migrated itself, NEW on another, 1,000 users x 50
# tasks each (seed.sh); REST create and toggle by wrk, 64 connections, 10 s slices, the two
# builds interleaved, the order swapped each round (the first of a pair tends to win by a few
# per cent). Needs wrk and PostgreSQL on 127.0.0.1:5432 (trust, user postgres); stops by itself.
#   OLD=/work/before-target/release/todo-api NEW=/work/bench-target/release/todo-api \
#     benches/writes/ab.sh
# SCRIPTS (default "create.lua toggle.lua") and ROUNDS (4) choose the work: reads too with
# SCRIPTS="create.lua toggle.lua mix.lua graphql_mix.lua" (the mixes are 80 % lists).
set -euo pipefail
OLD=${OLD:?a todo-api binary built from the older code}
NEW=${NEW:-target/release/todo-api}
DIR=benches/writes
SECRET=bench-secret-that-is-long-enough-for-hs256-xx
PSQL="psql -h 127.0.0.1 -U postgres -q"
BIN=$OLD DB=bench_old
. "$DIR/seed.sh"
BIN=$NEW DB=bench_new
. "$DIR/seed.sh"
. "$DIR/two_servers.sh"
http() { wrk -t2 -c64 -d10s -s "$DIR/$1" "http://127.0.0.1:$2" | grep -E "Requests/sec|Non-2xx" | tr '\n' ' '; echo; }
for round in $(seq 1 "${ROUNDS:-4}"); do
  echo "== round $round"
  for script in ${SCRIPTS:-create.lua toggle.lua}; do
    if [ $((round % 2)) -eq 1 ]; then order="8041 8042"; else order="8042 8041"; fi
    for port in $order; do
      name=old; [ "$port" = 8042 ] && name=new
      echo "${script%.lua} $name: $(http $script "$port")"
    done
  done
done
