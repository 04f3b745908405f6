#!/usr/bin/env bash
# The server's own CPU per request of two builds, on the databases benches/writes/ab.sh left
# (bench_old, bench_new), from the repository's root: both servers up, wrk slices of 10 s
# (64 connections) against each in turn, the order swapped each round; CPU = the server
# process's utime + stime over the slice (/proc/<pid>/stat), divided by the requests served.
# Where a change to the server's code (not the database's work) would show. Stops by itself.
#   OLD=/work/before-target/release/todo-api NEW=/work/bench-target/release/todo-api \
#     SCRIPTS="mix.lua toggle.lua" bash benches/writes/cpu_ab.sh
set -euo pipefail
OLD=${OLD:?a todo-api binary built from the older code}
NEW=${NEW:-target/release/todo-api}
DIR=benches/writes
. "$DIR/two_servers.sh"
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
for round in $(seq 1 "${ROUNDS:-3}"); do
  for script in ${SCRIPTS:-mix.lua}; do
    if [ $((round % 2)) -eq 1 ]; then order="old new"; else order="new old"; fi
    for name in $order; do
      pid=$old port=8041
      [ "$name" = new ] && pid=$new port=8042
      t0=$(ticks "$pid")
      out=$(wrk -t2 -c64 -d10s -s "$DIR/$script" "http://127.0.0.1:$port")
      t1=$(ticks "$pid")
      reqs=$(echo "$out" | awk '/requests in/ {print $1}')
      rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
      us=$(awk -v t=$((t1 - t0)) -v hz="$hz" -v n="$reqs" 'BEGIN {printf "%.1f", t / hz / n * 1e6}')
      echo "$round ${script%.lua} $name: $rps req/s, $us us CPU/request"
    done
  done
done
