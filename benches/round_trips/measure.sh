#!/bin/bash
# Usage: measure.sh <binary> <label> [port] [proxy port]. Counts round trips per REST request
# on PostgreSQL (127.0.0.1:5432, trust) through a counting proxy (proxy.py: a burst the server
# sends after the database last answered is one), with a pool of one connection, after a
# warm-up. POOLER=1 gives the server DATABASE_DIRECT_URL, so it takes DATABASE_URL for a
# transaction pooler (no statement cache) and its listener connects directly, uncounted;
# otherwise everything goes through the proxy (set EVENT_HEARTBEAT_INTERVAL long, as here).
# Indicative (the proxy does not hold answers back, so a burst sent without waiting may be
# counted apart); the deterministic count is `cargo test --test it round_trips:: -- --nocapture`.
BIN=$1; LABEL=$2; PORT=${3:-18181}; PPORT=${4:-15999}
HERE=$(cd "$(dirname "$0")" && pwd); WORK=$(mktemp -d)
export PGHOST=127.0.0.1 PGUSER=postgres
DB=rt_$LABEL
dropdb --if-exists -f $DB 2>/dev/null; createdb $DB
python3 "$HERE/proxy.py" $PPORT 5432 "$WORK/counts.json" & PROXY=$!
sleep 0.5
export BETTER_AUTH_SECRET=0123456789abcdef0123456789abcdef0123456789
export DATABASE_URL="postgres://postgres@127.0.0.1:$PPORT/$DB"
if [ "${POOLER:-0}" = 1 ]; then export DATABASE_DIRECT_URL="postgres://postgres@127.0.0.1:5432/$DB"; fi
export DB_POOL_SIZE=1 EVENT_HEARTBEAT_INTERVAL=1h PORT=$PORT HOST=127.0.0.1 LOG_FORMAT=json RATE_LIMIT=100000
$BIN serve > $WORK/server.log 2>&1 & SRV=$!
for i in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:$PORT/healthz && break; sleep 0.3; done
TOKEN=$($BIN token alice 2>/dev/null)
H="Authorization: Bearer $TOKEN"
B=http://127.0.0.1:$PORT/api/alice/tasks
total() { python3 -c "import json;print(sum(json.load(open('$WORK/counts.json')).values()))"; }
req() { # method url [body]
  local before=$(total)
  if [ -n "$3" ]; then curl -s -o $WORK/body -X $1 -H "$H" -H 'content-type: application/json' -d "$3" "$2"; else curl -s -o $WORK/body -X $1 -H "$H" "$2"; fi
  sleep 0.3; local after=$(total); echo $((after-before))
}
# Warm-up: every kind of request twice.
for w in 1 2; do
  ID=$(curl -s -X POST -H "$H" -H 'content-type: application/json' -d '{"title":"warm"}' $B | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
  curl -s -o /dev/null -X PUT -H "$H" -H 'content-type: application/json' -d '{"title":"w2"}' $B/$ID
  curl -s -o /dev/null -X PATCH -H "$H" $B/$ID/complete
  curl -s -o /dev/null -X DELETE -H "$H" $B/$ID
  curl -s -o /dev/null -H "$H" $B
done
for round in 1 2 3; do
  c=$(req POST $B '{"title":"measured"}'); ID=$(python3 -c "import json;print(json.load(open('$WORK/body'))['id'])")
  u=$(req PUT $B/$ID '{"title":"changed"}')
  t=$(req PATCH $B/$ID/complete)
  d=$(req DELETE $B/$ID)
  l=$(req GET $B)
  s=$(req GET "$B/changes?since=1")
  echo "$LABEL round $round: create $c, update $u, toggle $t, delete $d, list $l, changes $s"
done
kill $SRV $PROXY; wait $SRV $PROXY 2>/dev/null
dropdb -f $DB
rm -rf "$WORK"
