-- The data of "the cost of a shared list" (benches/README.md): on a database the server has
-- migrated, 1,000 users (u1…u1000) with 50 tasks of their own, and 200 users (s1…s200) with
-- 25 of their own and one list of 25 shared with them as editor by its owner (o1…o200):
-- every user sees 50 tasks, so the two kinds differ only in the shared list.
INSERT INTO tasks (user_id, title, created_at, updated_at, position, tags)
SELECT 'u' || u, 'task ' || n, now() - (n || ' min')::interval, now(), lpad(to_hex(n), 4, '0'), '[]'
FROM generate_series(1, 1000) u, generate_series(1, 50) n;
INSERT INTO task_lists (user_id, name, name_key, position, created_at, updated_at)
SELECT 'o' || k, 'shared ' || k, 'shared ' || k, '80', now(), now() FROM generate_series(1, 200) k;
INSERT INTO list_members (list_id, user_id, role, added_at)
SELECT l.id, 's' || substr(l.user_id, 2), 'editor', now() FROM task_lists l WHERE l.user_id LIKE 'o%';
INSERT INTO tasks (user_id, title, created_at, updated_at, position, tags)
SELECT 's' || u, 'task ' || n, now() - (n || ' min')::interval, now(), lpad(to_hex(n), 4, '0'), '[]'
FROM generate_series(1, 200) u, generate_series(1, 25) n;
INSERT INTO tasks (user_id, list_id, title, created_at, updated_at, position, tags)
SELECT l.user_id, l.id, 'shared ' || n, now() - (n || ' min 30 s')::interval, now(),
       lpad(to_hex(n), 4, '0'), '[]'
FROM task_lists l, generate_series(1, 25) n WHERE l.user_id LIKE 'o%';
ANALYZE;
