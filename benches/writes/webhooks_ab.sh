#!/usr/bin/env bash
# What queueing webhooks from the journal (migration 000077) costs a write: pgbench's toggle
# (the server's toggle transaction, toggle.pgb) on a seeded database (1,000 users x 50 tasks)
# with the trigger and no webhooks, without the trigger (as before 000077), and with the
# trigger and 3 webhooks for every user (each toggle queues 3 deliveries; no worker runs, so
# the queue only grows). ROUNDS rounds of each, at 1 and 16 clients, 8 s each.
# Run from the repository's root after `cargo build`: bash benches/writes/webhooks_ab.sh
set -euo pipefail
BIN=${BIN:-target/debug/todo-api}
DB=${DB:-bench_webhooks}
ROUNDS=${ROUNDS:-2}
PSQL="psql -h 127.0.0.1 -U postgres -q"
$PSQL -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
"$BIN" migrate --database-url "postgres://postgres@127.0.0.1:5432/$DB" >/dev/null
$PSQL -d $DB <<'SQL'
INSERT INTO tasks (user_id, title, title_key, description, completed, created_at, updated_at)
SELECT 'u' || u, 'Task ' || t || ' of u' || u, 'task ' || t || ' of u' || u,
       CASE WHEN t % 3 = 0 THEN 'Details for task ' || t END, t % 2 = 0,
       now() - make_interval(mins => t), now() - make_interval(mins => t)
FROM generate_series(0, 999) AS u CROSS JOIN generate_series(1, 50) AS t ORDER BY t, u;
VACUUM ANALYZE;
SQL
drop="DROP TRIGGER task_changes_webhooks ON task_changes"
add="CREATE TRIGGER task_changes_webhooks AFTER INSERT OR UPDATE ON task_changes
     FOR EACH ROW EXECUTE FUNCTION webhook_enqueue()"
three="INSERT INTO webhooks (user_id, url, events, secret, created_at, updated_at)
       SELECT 'u' || u, 'https://hooks.example.com/' || n,
              'task.created,task.updated,task.completed,task.deleted,reminder.due,webhook.test',
              'whsec_x', now(), now()
       FROM generate_series(0, 999) u, generate_series(1, 3) n"
run() {
    for clients in 1 16; do
        tps=$(pgbench -h 127.0.0.1 -U postgres -n -M prepared -c $clients -j 2 -T 8 \
              -f benches/writes/toggle.pgb $DB 2>/dev/null | grep -oP 'tps = \K[0-9.]+')
        echo "$1, $clients clients: $tps tps"
    done
}
for _ in $(seq "$ROUNDS"); do
    run "trigger, 0 webhooks"
    $PSQL -d $DB -c "$drop"; run "no trigger"; $PSQL -d $DB -c "$add"
    $PSQL -d $DB -c "$three"; run "trigger, 3 webhooks per user"; $PSQL -d $DB -c "DELETE FROM webhooks"
done
