#!/usr/bin/env bash
# Issue 60's contract figures, from the repository's root: WAL bytes per write, as
# pg_current_wal_insert_lsn() around 300 sequential writes, each its own transaction:
#   - REST create and toggle of one user's private tasks, against the same INSERT and UPDATE
#     of that user's rows on plain_tasks, a table of the same columns with a primary key and
#     one (user_id, created_at) index, nothing else (the toggles: six passes over the user's 50
#     seeded tasks, on both tables, so both touch the same pages);
#   - REST create in a list of the owner's alone, and in a list with MEMBERS editors (200).
# Two rounds; the smaller figure of each is the one to quote. RECORDS=1 adds, after them, where
# a create's and a toggle's bytes go (pg_waldump over 300 more of each, by relation and record
# type; reads the server's pg_wal, so run it as root or postgres). PGPORT (5432) names another
# server, as benches/writes/wal_logical.sh does. WAL is the database's work, so
# any build of the server measures it (BIN, default target/release/todo-api; a debug build
# gives the same bytes). Needs curl and psql; PostgreSQL on 127.0.0.1:$PGPORT (trust, user
# postgres); drops nothing but its own database, which it makes afresh. AFTER_MIGRATE, SQL run
# on it after the migrations, measures a schema beside today's (an index put back, say).
set -euo pipefail
BIN=${BIN:-target/release/todo-api}
DB=bench_wal
DIR=benches/writes
MEMBERS=${MEMBERS:-200}
N=300
PORT=${PORT:-8043}
PGPORT=${PGPORT:-5432}
SECRET=bench-secret-that-is-long-enough-for-hs256-xx
PSQL="psql -h 127.0.0.1 -p $PGPORT -U postgres -q"
API=http://127.0.0.1:$PORT/api
$PSQL -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
"$BIN" migrate --database-url "postgres://postgres@127.0.0.1:$PGPORT/$DB" >/dev/null
if [ -n "${AFTER_MIGRATE:-}" ]; then $PSQL -d $DB -c "$AFTER_MIGRATE"; fi
# 1,000 users x 50 tasks, as seed.sh, so both tables' indexes have the same depth.
$PSQL -d $DB >/dev/null <<SQL
INSERT INTO tasks (user_id, title, title_key, created_at, updated_at)
SELECT 'u' || u, 'Task ' || t, 'task ' || t, now() - make_interval(mins => t),
       now() - make_interval(mins => t)
FROM generate_series(0, 999) AS u CROSS JOIN generate_series(1, 50) AS t ORDER BY t, u;
CREATE TABLE plain_tasks (LIKE tasks INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING GENERATED);
ALTER TABLE plain_tasks ADD PRIMARY KEY (id);
CREATE INDEX plain_tasks_user_created ON plain_tasks (user_id, created_at);
INSERT INTO plain_tasks SELECT * FROM tasks;
SELECT setval(pg_get_serial_sequence('plain_tasks', 'id'), (SELECT max(id) FROM plain_tasks));
VACUUM ANALYZE;
SQL
RUST_LOG=warn "$BIN" serve --database-url "postgres://postgres@127.0.0.1:$PGPORT/$DB" \
  --auth-secret $SECRET --host 127.0.0.1 --port $PORT --rate-limit 0 --max-members-per-list 1000 \
  > "$DIR/wal_server.log" 2>&1 &
server=$!
trap 'kill $server' EXIT
for _ in $(seq 1 50); do curl -sf http://127.0.0.1:$PORT/readyz >/dev/null && break; sleep 0.2; done
token() { "$BIN" token --auth-secret $SECRET --ttl 2h "$1" 2>/dev/null; }
OWNER=$(token u1)
post() { curl -sf -X POST -H "Authorization: Bearer $OWNER" -H 'Content-Type: application/json' "$API/u1/$1" -d "$2"; }
lsn() { $PSQL -d $DB -tAc "SELECT pg_current_wal_insert_lsn()"; }
per_write() { $PSQL -d $DB -tAc "SELECT round(pg_wal_lsn_diff('$2', '$1') / $N)"; }
# The lists: one of the owner's alone, one shared with MEMBERS editors.
alone=$(post lists '{"name": "alone"}' | sed -E 's/.*"id": ?([0-9]+).*/\1/')
shared=$(post lists '{"name": "shared"}' | sed -E 's/.*"id": ?([0-9]+).*/\1/')
for m in $(seq 1 "$MEMBERS"); do
  post "lists/$shared/members" "{\"user_id\": \"member$m\", \"role\": \"editor\"}" >/dev/null
done
creates() { # $1: the body's extra JSON
  for i in $(seq 1 $N); do post tasks "{\"title\": \"wal $i\"$1}" >/dev/null; done
}
SEEDED=$($PSQL -d $DB -tAc "SELECT id FROM tasks WHERE user_id = 'u1' ORDER BY id LIMIT 50")
toggles() {
  for _ in 1 2 3 4 5 6; do for id in $SEEDED; do
    curl -sf -X PATCH -H "Authorization: Bearer $OWNER" "$API/u1/tasks/$id/complete" >/dev/null
  done; done
}
# The plain statements, one transaction each (psql's autocommit), as the API's writes are.
plain_inserts() {
  for i in $(seq 1 $N); do
    echo "INSERT INTO plain_tasks (user_id, title, title_key, position) VALUES ('u1', 'wal $i', 'wal $i', '80');"
  done | $PSQL -d $DB >/dev/null
}
plain_updates() {
  for _ in 1 2 3 4 5 6; do for id in $SEEDED; do
    echo "UPDATE plain_tasks SET completed = NOT completed, updated_at = now(), completed_at = CASE WHEN completed THEN NULL ELSE now() END WHERE id = $id;"
  done; done | $PSQL -d $DB >/dev/null
}
# FLUSHES=1: also the WAL flushes per write (pg_stat_wal's wal_sync, the whole server's: run it
# alone), each window closed 11 s later, once every backend has reported its counts.
syncs() { sleep 11; $PSQL -d $DB -tAc "SELECT wal_sync FROM pg_stat_wal"; }
measure() { # $1: label, then the command
  local label=$1; shift
  local before after s0 s1
  if [ "${FLUSHES:-0}" = 1 ]; then s0=$(syncs); fi
  before=$(lsn); "$@"; after=$(lsn)
  if [ "${FLUSHES:-0}" = 1 ]; then
    s1=$(syncs)
    echo "$label: $(per_write "$before" "$after") bytes, $(echo "scale=2; ($s1 - $s0) / $N" | bc) flushes per write"
  else
    echo "$label: $(per_write "$before" "$after") bytes per write"
  fi
}
$PSQL -d $DB -c CHECKPOINT
for round in 1 2; do
  echo "== round $round"
  measure "plain INSERT" plain_inserts
  measure "REST create, private" creates ""
  measure "REST create, a list of one" creates ", \"list_id\": $alone"
  measure "REST create, a list of $MEMBERS editors and its owner" creates ", \"list_id\": $shared"
  measure "plain UPDATE" plain_updates
  measure "REST toggle, private" toggles
done
# Where the bytes go: every WAL record of 300 more creates and of 300 more toggles, summed by
# relation and record type, per write (rows under 3 bytes a write left out).
records() { # $1: label, then the command
  local label=$1; shift
  local before after data waldump
  data=$($PSQL -d $DB -tAc "SHOW data_directory")
  waldump=$(ls /usr/lib/postgresql/*/bin/pg_waldump | tail -n 1)
  $PSQL -d $DB -tAc "SELECT relfilenode || '|' || relname FROM pg_class WHERE relfilenode <> 0" \
    > "$DIR/wal_relations.txt"
  before=$(lsn); "$@"; after=$(lsn)
  echo "== $label: bytes per write, by relation and record"
  "$waldump" -p "$data/pg_wal" -s "$before" -e "$after" 2>/dev/null \
    | python3 "$DIR/wal_records.py" "$DIR/wal_relations.txt" $N
}
if [ "${RECORDS:-0}" = 1 ]; then
  records "REST create, private" creates ""
  records "REST toggle, private" toggles
fi
# JOURNAL_OFF=1: one more round with tasks' journal triggers disabled, the row changes alone (what
# a write would cost if the journal were written elsewhere, as logical decoding would). It
# breaks this database's sync; the next run makes it afresh.
if [ "${JOURNAL_OFF:-0}" = 1 ]; then
  for t in insert update delete; do
    $PSQL -d $DB -c "ALTER TABLE tasks DISABLE TRIGGER tasks_journal_$t"
  done
  echo "== journal triggers off"
  measure "REST create, private" creates ""
  measure "REST create, a list of $MEMBERS editors and its owner" creates ", \"list_id\": $shared"
  measure "REST toggle, private" toggles
fi
