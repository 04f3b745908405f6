#!/usr/bin/env bash
# Sourced by ab.sh and cpu_ab.sh (from the repository's root, with OLD, NEW and DIR set): the
# two builds serving their own databases, bench_old on :8041 and bench_new on :8042, their pids
# in $old and $new, both stopped when the script exits.
: "${SECRET:=bench-secret-that-is-long-enough-for-hs256-xx}"
start() {
  RUST_LOG=warn "$1" serve --database-url "postgres://postgres@127.0.0.1:5432/$2" \
    --auth-secret $SECRET --host 127.0.0.1 --port "$3" --rate-limit 0 --db-pool-size 32 \
    > "$DIR/server_$3.log" 2>&1 &
  echo $!
}
old=$(start "$OLD" bench_old 8041)
new=$(start "$NEW" bench_new 8042)
trap 'kill $old $new' EXIT
sleep 3
