#!/usr/bin/env bash
# Rows a REST page reads, by sort order, for a user with 10,000 tasks (issue 60 item 2: "every
# sort order reads a page, not the user's whole set"). From the repository's root, after
# benches/writes/wal.sh made bench_wal (1,000 users x 50 tasks): adds u9's 10,000 tasks (due
# dates, priorities), VACUUM ANALYZE, then reads `seq_tup_read` and `idx_tup_fetch` of `tasks`
# around ten `?limit=20&sort=…` pages each. A backend reports its counters when its next
# transaction starts, so each window is closed by two more requests a second apart. The page's
# `X-Total-Count` is a count over every matching task: it is part of what a page reads (without
# a filter PostgreSQL's kept count, `task_counts`; with one, the matches: the last two lines).
set -euo pipefail
BIN=${BIN:-target/release/todo-api}
DB=bench_wal; PORT=8045; SECRET=bench-secret-that-is-long-enough-for-hs256-xx
PSQL="psql -h 127.0.0.1 -U postgres -q -d $DB"
if [ "$($PSQL -tAc "SELECT count(*) FROM tasks WHERE user_id = 'u9'")" -lt 10000 ]; then
  $PSQL -c "INSERT INTO tasks (user_id, title, title_key, created_at, updated_at, due_date, priority)
            SELECT 'u9', 'Big ' || t, 'big ' || md5(t::text), now() - make_interval(secs => t),
                   now() - make_interval(secs => t), now() + make_interval(hours => t), t % 4
            FROM generate_series(1, 10000) t" -c "VACUUM ANALYZE tasks"
fi
RUST_LOG=warn "$BIN" serve --database-url "postgres://postgres@127.0.0.1:5432/$DB" \
  --auth-secret $SECRET --host 127.0.0.1 --port $PORT --rate-limit 0 >/dev/null 2>&1 &
server=$!
trap 'kill $server' EXIT
for _ in $(seq 1 50); do curl -sf http://127.0.0.1:$PORT/readyz >/dev/null && break; sleep 0.2; done
T=$("$BIN" token --auth-secret $SECRET --ttl 2h u9 2>/dev/null)
get() { curl -sf -o /dev/null -H "Authorization: Bearer $T" "http://127.0.0.1:$PORT/api/u9/tasks$1" || true; }
read_counts() { $PSQL -tAc "SELECT seq_tup_read || ' ' || coalesce(idx_tup_fetch, 0) FROM pg_stat_user_tables WHERE relname = 'tasks'"; }
settle() { get /1; sleep 1.2; get /1; sleep 1.2; }
for q in created updated title status priority due position "title&order=desc" "due&order=desc" \
         "created&category=work" "created&status=pending"; do
  settle; read -r seq0 idx0 <<< "$(read_counts)"
  for _ in $(seq 1 10); do get "?limit=20&sort=$q"; done
  settle; read -r seq1 idx1 <<< "$(read_counts)"
  echo "sort=$q: $(( (seq1 - seq0) / 10 )) rows by sequential scan, $(( (idx1 - idx0) / 10 )) by index, per page"
done
