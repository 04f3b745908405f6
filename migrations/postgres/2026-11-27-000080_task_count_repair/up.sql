-- The kept task counts (000079), made safe against drift and against a new lock cycle (found by
-- a review of 000079):
--
-- 1. A count can drift when tasks are written with its triggers off (`session_replication_role
--    = replica`, `DISABLE TRIGGER`, a logical-replication subscriber) or twice counted (a
--    data-only restore that loads `task_counts` before `tasks` with triggers on). Too high, it
--    would refuse every create of that owner for good; negative (too low), it would let the
--    cap be passed. So a create whose kept count is at the cap or negative counts the owner's
--    tasks, writes the true count back and decides on it (`owner_task_cap_reached`): the slow
--    count runs only at the cap, where it is the answer anyway, or on a count known wrong.
-- 2. The triggers wrote an owner's count row without the owner's placement lock. A create
--    takes that lock first, then writes the row, so another program that wrote the row (a
--    DELETE) and then waited for the lock (an INSERT without a position: `tasks_place`) made
--    a cycle; and two multi-owner statements could lock rows in two orders. Now the triggers
--    take the placement lock of each owner they count, in the owners' order, before writing
--    any row: the row is only ever written under its owner's placement lock, as the API's own
--    writes already held it (re-entrant: nothing more to wait for there).

-- The placement lock of each owner in `owners`, in their order (the key is `owner_locks`' and
-- `tasks_place`'s: kind bits `10`, then 62 bits of `hashtextextended(owner, 0)`).
CREATE FUNCTION task_counts_lock(p_owners text[]) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    v_owner text;
BEGIN
    FOR v_owner IN SELECT DISTINCT o FROM unnest(p_owners) AS o ORDER BY o LOOP
        PERFORM pg_advisory_xact_lock(
            (hashtextextended(v_owner, 0) & ((1::bigint << 62) - 1)) | (1::bigint << 63));
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION task_counts_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    PERFORM task_counts_lock(ARRAY(SELECT n.user_id FROM new_rows n));
    INSERT INTO task_counts AS c (user_id, n)
    SELECT n.user_id, count(*) FROM new_rows n GROUP BY n.user_id ORDER BY n.user_id
    ON CONFLICT (user_id) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION task_counts_delete() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    PERFORM task_counts_lock(ARRAY(SELECT o.user_id FROM old_rows o));
    UPDATE task_counts c SET n = c.n - d.k
    FROM (SELECT o.user_id, count(*) AS k FROM old_rows o GROUP BY o.user_id) d
    WHERE c.user_id = d.user_id;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION task_counts_move() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    PERFORM task_counts_lock(ARRAY[OLD.user_id, NEW.user_id]);
    UPDATE task_counts c SET n = c.n - 1 WHERE c.user_id = OLD.user_id;
    INSERT INTO task_counts AS c (user_id, n) VALUES (NEW.user_id, 1)
    ON CONFLICT (user_id) DO UPDATE SET n = c.n + 1;
    RETURN NULL;
END
$$;

-- The kept count, or the owner's tasks counted when it is negative.
CREATE OR REPLACE FUNCTION owner_task_count(p_owner text) RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
DECLARE
    v_n bigint;
BEGIN
    IF NOT may_count_for(p_owner) THEN
        RAISE EXCEPTION 'todo_api refused: forbidden';
    END IF;
    v_n := coalesce((SELECT c.n FROM task_counts c WHERE c.user_id = p_owner), 0);
    IF v_n < 0 THEN
        RETURN (SELECT count(*) FROM tasks t WHERE t.user_id = p_owner);
    END IF;
    RETURN v_n;
END
$$;

-- Whether the owner holds `p_cap` tasks: the kept count when it is in [0, p_cap), else the
-- owner's tasks counted, with the count row set to that (a create the kept count would refuse
-- or cannot trust). Called by a create under the owner's placement lock (`owner_locks`, taken
-- first), so no count trigger of that owner runs meanwhile: a writer whose tasks this count
-- cannot see yet (not committed) adjusts the row after it, from the true count. A refused
-- create rolls the row back with it; a create let through keeps it.
CREATE FUNCTION owner_task_cap_reached(p_owner text, p_cap bigint) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    v_n bigint;
BEGIN
    IF NOT may_count_for(p_owner) THEN
        RAISE EXCEPTION 'todo_api refused: forbidden';
    END IF;
    v_n := coalesce((SELECT c.n FROM task_counts c WHERE c.user_id = p_owner), 0);
    IF v_n >= 0 AND v_n < p_cap THEN
        RETURN false;
    END IF;
    v_n := (SELECT count(*) FROM tasks t WHERE t.user_id = p_owner);
    INSERT INTO task_counts AS c (user_id, n) VALUES (p_owner, v_n)
    ON CONFLICT (user_id) DO UPDATE SET n = EXCLUDED.n;
    RETURN v_n >= p_cap;
END
$$;

DO $$
DECLARE
    f TEXT;
BEGIN
    FOREACH f IN ARRAY ARRAY['task_counts_lock(text[])', 'owner_task_cap_reached(text, bigint)',
                             'task_counts_insert()', 'task_counts_delete()', 'task_counts_move()',
                             'owner_task_count(text)'] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, %I, pg_temp', f,
                       current_schema());
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END
$$;
GRANT EXECUTE ON FUNCTION owner_task_cap_reached(text, bigint) TO todo_api_app;

-- The create's check (000074) is `owner_task_cap_reached`: the function's own text with that
-- one condition changed (its attributes, SET clauses and grants are kept by CREATE OR REPLACE).
DO $$
DECLARE
    v_def text := pg_get_functiondef('task_create_owned(text, jsonb)'::regprocedure);
    v_old text := 'IF owner_task_count(p_owner) >= (p->>''task_cap'')::bigint THEN';
    v_new text := 'IF owner_task_cap_reached(p_owner, (p->>''task_cap'')::bigint) THEN';
BEGIN
    IF strpos(v_def, v_old) = 0 THEN
        RAISE EXCEPTION 'task_create_owned has no task cap check to change';
    END IF;
    EXECUTE replace(v_def, v_old, v_new);
END
$$;
