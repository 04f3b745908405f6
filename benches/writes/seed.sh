#!/usr/bin/env bash
# Sourced by run.sh and more.sh (from the repository's root, with BIN, DB, DIR, SECRET and PSQL
# set): a fresh database $DB, migrated by $BIN, with 1,000 users x TASKS tasks (50 unless
# set), plain_tasks (the same columns and indexes as tasks, no trigger, no policy, no NOTIFY),
# $DIR/ids.txt ("<user number> <task id>" per seeded task) and $DIR/tokens.txt (line n+1: a
# 2-hour token for u<n>).
$PSQL -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
"$BIN" migrate --database-url "postgres://postgres@127.0.0.1:5432/$DB" >/dev/null
$PSQL -d $DB <<SQL
INSERT INTO tasks (user_id, title, title_key, description, completed, created_at, updated_at)
SELECT 'u' || u, 'Task ' || t || ' of u' || u, 'task ' || t || ' of u' || u,
       CASE WHEN t % 3 = 0 THEN 'Details for task ' || t END, t % 2 = 0,
       now() - make_interval(mins => t), now() - make_interval(mins => t)
FROM generate_series(0, 999) AS u CROSS JOIN generate_series(1, ${TASKS:-50}) AS t ORDER BY t, u;
CREATE TABLE plain_tasks (LIKE tasks INCLUDING ALL);
INSERT INTO plain_tasks SELECT * FROM tasks;
SELECT setval(pg_get_serial_sequence('plain_tasks', 'id'), (SELECT max(id) FROM plain_tasks));
VACUUM ANALYZE;
SQL
$PSQL -d $DB -tAc "SELECT substr(user_id, 2) || ' ' || id FROM tasks" > $DIR/ids.txt
for u in $(seq 0 999); do "$BIN" token --auth-secret $SECRET --ttl 2h "u$u"; done > $DIR/tokens.txt 2>/dev/null
