# Sourced first by ceiling.sh and list_json.sh (from the repository's root): their settings
# (BIN, SECONDS_PER_SLICE, ROUNDS, POOL; the database bench_writes), the machine's busy CPU, a
# process's CPU, a pgbench slice, a wrk slice (rest() needs $server, a todo-api on
# 127.0.0.1:8041), and a table row with the share of a ceiling.
BIN=${BIN:-target/release/todo-api}
S=${SECONDS_PER_SLICE:-10}
ROUNDS=${ROUNDS:-2}
POOL=${POOL:-32}
DB=bench_writes
DIR=benches/writes
SECRET=bench-secret-that-is-long-enough-for-hs256-xx
PSQL="psql -h 127.0.0.1 -U postgres -q"
busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TCK=$(getconf CLK_TCK)
# pgbench FILE[@WEIGHT]... -> "tps machine_us_per_tx"
bench() {
  local b0 b1 out f files=()
  for f in "$@"; do files+=(-f "$DIR/$f"); done
  b0=$(busy)
  out=$(pgbench -h 127.0.0.1 -U postgres -n -M prepared -c 64 -j 2 -T "$S" "${files[@]}" $DB 2>&1)
  b1=$(busy)
  local tps failed
  tps=$(awk '/^tps/ {print $3}' <<< "$out")
  failed=$(awk -F': ' '/^number of failed transactions/ {split($2, n, " "); print n[1]; exit}' <<< "$out")
  [ -n "$tps" ] && [ "${failed:-0}" = 0 ] || { echo "pgbench $* failed: $out" >&2; exit 1; }
  awk -v t="$tps" -v b=$((b1 - b0)) -v s="$S" -v k="$TCK" 'BEGIN {printf "%.0f %.0f", t, b / k * 1e6 / (t * s)}'
}
# rest SCRIPT -> "req_per_s machine_us_per_req server_us_per_req errors"
rest() {
  local b0 b1 s0 s1 out
  b0=$(busy); s0=$(ticks "$server")
  out=$(wrk -t2 -c64 -d"${S}s" --timeout 10s -s "$DIR/$1" http://127.0.0.1:8041)
  b1=$(busy); s1=$(ticks "$server")
  local rps n errs
  rps=$(awk '/^Requests\/sec/ {print $2}' <<< "$out")
  n=$(awk '/requests in/ {print $1}' <<< "$out")
  errs=$(awk '/Non-2xx/ {e += $NF} /Bodies with errors/ {e += $NF} /Socket errors/ {gsub(",", ""); e += $4 + $6 + $8 + $10} END {print e + 0}' <<< "$out")
  awk -v r="$rps" -v n="$n" -v b=$((b1 - b0)) -v sv=$((s1 - s0)) -v k="$TCK" -v e="$errs" \
    'BEGIN {printf "%.0f %.0f %.0f %d", r, b / k * 1e6 / n, sv / k * 1e6 / n, e}'
}
share() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f %%", 100 * a / b}'; }
row() { printf '| %s | %s | %s | %s µs |\n' "$1" "${2%% *}" "$(share "${2%% *}" "$3")" "$(cut -d' ' -f2 <<< "$2")"; }
