#!/usr/bin/env bash
# Issue 41's remaining measurements, each in one run against its ceiling, from the
# repository's root (`BIN=target/release/todo-api bash benches/writes/more.sh`), on the
# database run.sh seeds (seed.sh: 1,000 users x 50 tasks, plain_tasks without trigger, policy
# or NOTIFY). Every round, in this order:
#   1. pgbench -M prepared, 64 clients, no server running: the plain INSERT, the plain UPDATE
#      and the plain mix (list.pgb@8 + plain_insert.pgb@1 + plain_update.pgb@1 on plain_tasks).
#   2. Instance A alone (64 wrk connections): the REST mix (mix.lua) and the GraphQL mix
#      (graphql_mix.lua, answers holding "errors" counted), each against pgbench's plain mix;
#      REST create and toggle (writes.lua) against the plain INSERT / UPDATE.
#   3. Instance B started (same database, same secret, another port): REST create and toggle
#      spread over A and B by two wrk processes of 32 connections at the same time (rates
#      summed), against A alone. Meanwhile an SSE subscriber on B (live.py watch) follows user
#      WATCH_USER, whose writes all go to A (one of A's requests in WATCH_EVERY is that user's,
#      B's process never picks them): its events' cursors must be exactly the user's change
#      counter's new numbers (task_sync_cursors.last_seq before and after), none missing.
#   4. Cross-instance latency at half capacity (live.py latency): REST creates, then toggles,
#      sent to A at half of this round's one-instance rate (CAPACITY_CREATE / CAPACITY_TOGGLE
#      to fix it) for users drawn from all 1,000, while SSE subscribers on B follow the first
#      SUBSCRIBERS users: p50 / p99 / max from the write's answer to the event's arrival (and
#      from the request's sending), events received vs writes made for those users.
#   Wait events of the active backends are sampled every 200 ms during every HTTP slice of 2
#   and 3 (wait.sh): the table shows the top three and Lock:object's share of the samples.
# Needs wrk, pgbench, curl, python3 (standard library only). Targets 127.0.0.1 only; every
# slice is bounded; the servers are killed on exit. Output files (wrk's, pgbench's, the
# servers' logs, the waits) go to OUT (a fresh /tmp directory unless set); the summary table
# is printed at the end. Settings (environment): BIN, SECONDS_PER_SLICE (10), ROUNDS (2),
# LATENCY_SECONDS (SECONDS_PER_SLICE), SUBSCRIBERS (100), WATCH_USER (0), WATCH_EVERY (50),
# POOL (DB_POOL_SIZE of each instance, 32), PORT_A (8041), PORT_B (8042), WRK_TIMEOUT (10s: a
# request answered later counts as an error), SEED (1; 0 reuses the database and tokens of an
# earlier run, less than 2 hours old).
set -euo pipefail
BIN=${BIN:-target/release/todo-api}
S=${SECONDS_PER_SLICE:-10}
ROUNDS=${ROUNDS:-2}
LATENCY_SECONDS=${LATENCY_SECONDS:-$S}
SUBSCRIBERS=${SUBSCRIBERS:-100}
WATCH_USER=${WATCH_USER:-0}
WATCH_EVERY=${WATCH_EVERY:-50}
POOL=${POOL:-32}
PORT_A=${PORT_A:-8041}
PORT_B=${PORT_B:-8042}
WRK_TIMEOUT=${WRK_TIMEOUT:-10s}
OUT=${OUT:-$(mktemp -d /tmp/writes-more.XXXXXX)}
DB=bench_writes
DIR=benches/writes
SECRET=bench-secret-that-is-long-enough-for-hs256-xx
PSQL="psql -h 127.0.0.1 -U postgres -q"
mkdir -p "$OUT"
[ "${SEED:-1}" = 0 ] || . "$DIR/seed.sh"

A= B= WATCHER=
cleanup() { for p in $A $B $WATCHER; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME PORT: the server, in the background, until /readyz answers 200.
start() {
  RUST_LOG=warn "$BIN" serve --database-url "postgres://postgres@127.0.0.1:5432/$DB" \
    --auth-secret $SECRET --host 127.0.0.1 --port "$2" --rate-limit 0 --db-pool-size "$POOL" \
    >> "$OUT/server_$1.log" 2>&1 &
  eval "$1=$!"
  for _ in $(seq 1 240); do
    curl -sf -o /dev/null "http://127.0.0.1:$2/readyz" && return 0
    sleep 0.25
  done
  echo "instance $1 on port $2 not ready; see $OUT/server_$1.log" >&2
  exit 1
}
stop() { for name in "$@"; do kill "${!name}" && wait "${!name}" 2>/dev/null || true; eval "$name="; done; }

# wrk FILE CONNECTIONS THREADS PORT SCRIPT [ARGS...]
load() {
  local file=$1 c=$2 t=$3 port=$4 script=$5
  shift 5
  wrk -t"$t" -c"$c" -d"${S}s" --timeout "$WRK_TIMEOUT" -s "$DIR/$script" "http://127.0.0.1:$port" -- "$@" > "$file"
}
rate() { awk '/^Requests\/sec/ {print $2}' "$@" | awk '{s += $1} END {printf "%.0f", s}'; }
# Non-2xx answers, socket errors and GraphQL answers with "errors", over the files given.
errors() {
  awk '/Non-2xx/ {n += $NF} /Bodies with errors/ {n += $NF}
       /Socket errors/ {gsub(",", ""); n += $4 + $6 + $8 + $10} END {print n + 0}' "$@"
}
plain() {
  pgbench -h 127.0.0.1 -U postgres -n -M prepared -c 64 -j 2 -T "$S" "$@" $DB > "$OUT/pgbench.txt" 2>&1
  local failed
  failed=$(awk -F': ' '/^number of failed transactions/ {split($2, n, " "); print n[1]; exit}' "$OUT/pgbench.txt")
  [ "${failed:-0}" = 0 ] || echo "pgbench: $failed failed transactions" >&2
  awk '/^tps/ {printf "%.0f", $3}' "$OUT/pgbench.txt"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.0f %%", 100 * a / b; else print "-"}'; }
sample() { "$DIR/wait.sh" $DB $((S * 4)) > "$OUT/waits_$1.txt" & SAMPLER=$!; }
lock_share() { awk '{t += $1} /Lock:object/ {l += $1} END {if (t) printf "%.1f %% of %d", 100 * l / t, t; else print "-"}' "$1"; }
top_waits() { head -3 "$1" | awk '{printf "%s%s %s", sep, $2, $1; sep = ", "}'; }
seq_of() { $PSQL -d $DB -tAc "SELECT coalesce((SELECT last_seq FROM task_sync_cursors WHERE user_id = 'u$1'), 0)"; }

ROWS="$OUT/summary.tsv"
printf 'round\tmeasurement\trate/s\tagainst\tratio\terrors\tLock:object\ttop waits / notes\n' > "$ROWS"
row() { local IFS=$'\t'; echo "$*" >> "$ROWS"; echo "  $*" | tr '\t' '|'; }

# http NAME SCRIPT [ARGS...]: one slice on A alone, waits sampled.
http() {
  local name=$1
  shift
  sample "$name"
  load "$OUT/$name.txt" 64 2 $PORT_A "$@"
  wait $SAMPLER
}

# two NAME OP: OP over A and B (32 connections each), the watch on B of WATCH_USER's writes on A.
two() {
  local name=$1 op=$2 before after received distinct first last resyncs
  rm -f "$OUT/ready"
  python3 $DIR/live.py watch --port $PORT_B --user "$WATCH_USER" --seconds $((S + 3)) \
    --ready "$OUT/ready" > "$OUT/watch_$name.txt" &
  WATCHER=$!
  for _ in $(seq 1 120); do [ -e "$OUT/ready" ] && break; sleep 0.25; done
  [ -e "$OUT/ready" ] || { echo "the SSE watch on B did not open" >&2; exit 1; }
  before=$(seq_of "$WATCH_USER")
  sample "$name"
  load "$OUT/${name}_a.txt" 32 1 $PORT_A writes.lua "$op" "watch=$WATCH_USER:$WATCH_EVERY" &
  local wa=$!
  load "$OUT/${name}_b.txt" 32 1 $PORT_B writes.lua "$op" "skip=$WATCH_USER" &
  wait $! $wa $SAMPLER
  wait $WATCHER
  WATCHER=
  after=$(seq_of "$WATCH_USER")
  read -r _ received _ distinct _ first _ last _ resyncs < "$OUT/watch_$name.txt"
  local expected=$((after - before)) verdict="all arrived"
  if [ "$received" != "$expected" ] || [ "$distinct" != "$expected" ] ||
     { [ "$expected" -gt 0 ] && { [ "$first" != $((before + 1)) ] || [ "$last" != "$after" ]; }; }; then
    verdict="MISSING OR EXTRA (cursors $first..$last, expected $((before + 1))..$after)"
  fi
  WATCH_NOTE="u$WATCH_USER on B: $received events of $expected writes on A, $verdict, RESYNC $resyncs"
}

# latency OP CAPACITY
latency() {
  local op=$1 rate
  rate=$(awk -v c="$2" 'BEGIN {printf "%.0f", c / 2}')
  python3 $DIR/live.py latency --write-port $PORT_A --event-port $PORT_B --op "$op" --rate "$rate" \
    --seconds "$LATENCY_SECONDS" --subscribers "$SUBSCRIBERS" > "$OUT/latency_$op.txt"
  sed 's/^/    /' "$OUT/latency_$op.txt" | grep -v RESULT
  local r
  r=$(grep ^RESULT "$OUT/latency_$op.txt")
  v() { echo "$r" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'; }
  row "$round" "SSE on B, REST $op on A at half" "$(v rate)" "asked $rate" "-" "$(v errors)" "-" \
    "from answer p50 $(v answer_p50) p99 $(v answer_p99) max $(v answer_max) ms; from sent p99 $(v sent_p99) ms; events $(v received) of $(v watched) writes, RESYNC $(v resyncs)"
}

echo "output files: $OUT"
for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round"
  insert=$(plain -f $DIR/plain_insert.pgb)
  row "$round" "pgbench plain INSERT" "$insert" "" "" "" "" ""
  update=$(plain -f $DIR/plain_update.pgb)
  row "$round" "pgbench plain UPDATE" "$update" "" "" "" "" ""
  mix=$(plain -f $DIR/list.pgb@8 -f $DIR/plain_insert.pgb@1 -f $DIR/plain_update.pgb@1)
  row "$round" "pgbench plain mix 80/10/10" "$mix" "" "" "" "" ""

  start A $PORT_A
  for api in rest graphql; do
    script=mix.lua label=REST
    [ $api = rest ] || { script=graphql_mix.lua label=GraphQL; }
    http "mix_$api" $script
    r=$(rate "$OUT/mix_$api.txt")
    row "$round" "$label mix, 1 instance" "$r" "plain mix" "$(ratio "$r" "$mix")" "$(errors "$OUT/mix_$api.txt")" \
      "$(lock_share "$OUT/waits_mix_$api.txt")" "$(top_waits "$OUT/waits_mix_$api.txt")"
  done
  for op in create toggle; do
    http "${op}_1" writes.lua $op
    r=$(rate "$OUT/${op}_1.txt")
    eval "one_$op=$r"
    ceiling=$insert against="plain INSERT"
    [ $op = create ] || { ceiling=$update against="plain UPDATE"; }
    row "$round" "REST $op, 1 instance" "$r" "$against" "$(ratio "$r" "$ceiling")" "$(errors "$OUT/${op}_1.txt")" \
      "$(lock_share "$OUT/waits_${op}_1.txt")" "$(top_waits "$OUT/waits_${op}_1.txt")"
  done

  start B $PORT_B
  for op in create toggle; do
    two "${op}_2" $op
    r=$(rate "$OUT/${op}_2_a.txt" "$OUT/${op}_2_b.txt")
    one=one_$op
    row "$round" "REST $op, 2 instances" "$r" "1 instance" "$(ratio "$r" "${!one}")" \
      "$(errors "$OUT/${op}_2_a.txt" "$OUT/${op}_2_b.txt")" "$(lock_share "$OUT/waits_${op}_2.txt")" \
      "$(top_waits "$OUT/waits_${op}_2.txt"); $WATCH_NOTE"
  done

  latency create "${CAPACITY_CREATE:-$one_create}"
  latency toggle "${CAPACITY_TOGGLE:-$one_toggle}"
  stop A B
done

echo
echo "== summary (BIN=$BIN, ${S} s slices, $ROUNDS rounds; files in $OUT)"
column -t -s $'\t' "$ROWS"
