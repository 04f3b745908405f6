#!/usr/bin/env bash
# Webhooks' cost on writes (issue 43), from the repository's root: one release build (BIN)
# serving two databases of 1,000 users x 50 tasks (../writes/seed.sh), bench_old with no
# webhook and bench_new with 3 webhooks per user (every event type) whose receivers answer on
# loopback (receiver.py, 204); REST create and toggle by wrk, 64 connections, 10 s slices, the
# two interleaved, the order swapped each round. Then what bench_new queued and delivered.
# Needs wrk, python3 and PostgreSQL on 127.0.0.1:5432 (trust, user postgres); stops by itself.
#   BIN=/work/bench-target/release/todo-api benches/jobs/webhooks.sh
set -euo pipefail
BIN=${BIN:-target/release/todo-api}
OLD=$BIN NEW=$BIN
DIR=benches/writes
SECRET=bench-secret-that-is-long-enough-for-hs256-xx
PSQL="psql -h 127.0.0.1 -U postgres -q"
DB=bench_old
. "$DIR/seed.sh"
DB=bench_new
. "$DIR/seed.sh"
$PSQL -d bench_new -c "INSERT INTO webhooks (user_id, url, events, secret, created_at, updated_at)
  SELECT 'u' || u, 'http://127.0.0.1:' || (9100 + k) || '/hook',
         'task.created,task.updated,task.completed,task.deleted,reminder.due,webhook.test',
         'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', now(), now()
    FROM generate_series(0, 999) AS u CROSS JOIN generate_series(1, 3) AS k"
python3 benches/jobs/receiver.py 9101 9102 9103 &
receiver=$!
export WEBHOOK_ALLOW_PRIVATE=true
. "$DIR/two_servers.sh"
trap 'kill $old $new; kill $receiver' EXIT
http() { wrk -t2 -c64 -d10s -s "$DIR/$1" "http://127.0.0.1:$2" | grep -E "Requests/sec|Non-2xx" | tr '\n' ' '; echo; }
for round in $(seq 1 "${ROUNDS:-2}"); do
  echo "== round $round"
  for script in ${SCRIPTS:-create.lua toggle.lua}; do
    if [ $((round % 2)) -eq 1 ]; then order="8041 8042"; else order="8042 8041"; fi
    for port in $order; do
      name="0 webhooks"; [ "$port" = 8042 ] && name="3 webhooks per user"
      echo "${script%.lua}, $name: $(http $script "$port")"
    done
  done
done
sleep 5
count() { $PSQL -d bench_new -tAc "SELECT count(*) FILTER (WHERE state = 'succeeded') || ' ' || count(*) FILTER (WHERE state = 'pending') || ' ' || (SELECT count(*) FROM webhook_events) FROM webhook_deliveries"; }
read -r done pending events <<< "$(count)"
echo "after the load (5 s): $((done + pending)) deliveries made, $done delivered, $pending pending, $events events not fanned out"
# The idle drain: what one instance delivers a second with no request to serve.
sleep 1; read -r d0 _ _ <<< "$(count)"; sleep 10; read -r d1 p1 _ <<< "$(count)"
echo "idle: $(( (d1 - d0) / 10 )) deliveries/s ($p1 still pending)"
# A moderate load: creates by PACE_CONNECTIONS (4) connections, once the backlog is gone;
# how many of the deliveries they make are delivered during the slice and 2 s after it.
for _ in $(seq 150); do [ "$(count | cut -d' ' -f2)" -gt 0 ] || break; sleep 2; done
read -r d0 _ _ <<< "$(count)"
echo "paced creates, 3 webhooks per user: $(wrk -t1 -c"${PACE_CONNECTIONS:-4}" -d10s -s "$DIR/create.lua" http://127.0.0.1:8042 | grep -E "Requests/sec|Non-2xx" | tr '\n' ' ')"
sleep 2; read -r d1 p1 e1 <<< "$(count)"
echo "  delivered during it and 2 s after: $((d1 - d0)), pending then: $p1, events not fanned out: $e1"
