-- MAX_TASKS_PER_USER in O(1) (issue 41, "whatever is next in the profile"). Each create
-- counted every task of the owner (`owner_task_count`, 000064): an index scan of the owner's
-- tasks, and before a vacuum one heap fetch per task. Measured on a user of 1,200 tasks: 0.5 ms
-- when vacuumed, 5-7 ms after the tasks were updated, against about 1.3 ms for the whole create
-- of a user with 50; it grows with the user up to the cap (10,000 by default).
--
-- Now the database keeps one row per owner, `task_counts`, written by triggers on `tasks` for
-- every writer (the API, psql, a legacy backend): +k after an INSERT statement, -k after a
-- DELETE, both per owner from the statement's transition table; a row moved to another owner
-- (only other programs do that) moves its count; TRUNCATE empties it. A toggle or an edit
-- fires nothing (the move trigger's WHEN is evaluated without calling the function).
--
-- The cap is still exact under concurrency: a create takes the owner's placement lock
-- (`owner_locks`) before reading the count, and the INSERT's trigger updates the count row in
-- the same transaction, so the next create of that owner reads it committed. A delete takes the
-- count row's lock after its tasks' and never an advisory lock after it, so it cannot deadlock
-- with a create holding the placement lock and waiting for that row.

CREATE TABLE task_counts (
    user_id TEXT   PRIMARY KEY,
    n       BIGINT NOT NULL
);
-- Per-user rows behind the second wall like every other table; nothing but the SECURITY
-- DEFINER functions below (the tables' owner) reads or writes them.
ALTER TABLE task_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE task_counts FORCE ROW LEVEL SECURITY;
DO $$
BEGIN
    EXECUTE format('CREATE POLICY owner_maintenance ON task_counts TO %I USING (true) '
                   'WITH CHECK (true)', current_user);
END
$$;

CREATE FUNCTION task_counts_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    -- In the owners' order, so two multi-owner statements lock the rows in one order.
    INSERT INTO task_counts AS c (user_id, n)
    SELECT n.user_id, count(*) FROM new_rows n GROUP BY n.user_id ORDER BY n.user_id
    ON CONFLICT (user_id) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;

CREATE FUNCTION task_counts_delete() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    UPDATE task_counts c SET n = c.n - d.k
    FROM (SELECT o.user_id, count(*) AS k FROM old_rows o GROUP BY o.user_id) d
    WHERE c.user_id = d.user_id;
    RETURN NULL;
END
$$;

CREATE FUNCTION task_counts_move() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    UPDATE task_counts c SET n = c.n - 1 WHERE c.user_id = OLD.user_id;
    INSERT INTO task_counts AS c (user_id, n) VALUES (NEW.user_id, 1)
    ON CONFLICT (user_id) DO UPDATE SET n = c.n + 1;
    RETURN NULL;
END
$$;

CREATE FUNCTION task_counts_truncate() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    DELETE FROM task_counts;
    RETURN NULL;
END
$$;

-- The triggers first: CREATE TRIGGER locks `tasks` against writes until this migration
-- commits, so no task written by another instance meanwhile escapes the count below.
CREATE TRIGGER tasks_count_insert AFTER INSERT ON tasks
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION task_counts_insert();
CREATE TRIGGER tasks_count_delete AFTER DELETE ON tasks
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION task_counts_delete();
CREATE TRIGGER tasks_count_move AFTER UPDATE ON tasks
    FOR EACH ROW WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id)
    EXECUTE FUNCTION task_counts_move();
CREATE TRIGGER tasks_count_truncate AFTER TRUNCATE ON tasks
    FOR EACH STATEMENT EXECUTE FUNCTION task_counts_truncate();

INSERT INTO task_counts (user_id, n) SELECT user_id, count(*) FROM tasks GROUP BY user_id;

-- The cap reads the row (0 for an owner who never had a task). Same name, same check of
-- whose count the caller may take (000064).
CREATE OR REPLACE FUNCTION owner_task_count(p_owner text) RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
BEGIN
    IF NOT may_count_for(p_owner) THEN
        RAISE EXCEPTION 'todo_api refused: forbidden';
    END IF;
    RETURN coalesce((SELECT c.n FROM task_counts c WHERE c.user_id = p_owner), 0);
END
$$;

DO $$
DECLARE
    f TEXT;
BEGIN
    FOREACH f IN ARRAY ARRAY['task_counts_insert()', 'task_counts_delete()', 'task_counts_move()',
                             'task_counts_truncate()', 'owner_task_count(text)'] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, %I, pg_temp', f,
                       current_schema());
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END
$$;
