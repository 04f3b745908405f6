-- Back to 000079: no recount at the cap, counts written without the placement lock.
DO $$
DECLARE
    v_def text := pg_get_functiondef('task_create_owned(text, jsonb)'::regprocedure);
BEGIN
    EXECUTE replace(v_def,
        'IF owner_task_cap_reached(p_owner, (p->>''task_cap'')::bigint) THEN',
        'IF owner_task_count(p_owner) >= (p->>''task_cap'')::bigint THEN');
END
$$;
DROP FUNCTION owner_task_cap_reached(text, bigint);

CREATE OR REPLACE FUNCTION owner_task_count(p_owner text) RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
BEGIN
    IF NOT may_count_for(p_owner) THEN
        RAISE EXCEPTION 'todo_api refused: forbidden';
    END IF;
    RETURN coalesce((SELECT c.n FROM task_counts c WHERE c.user_id = p_owner), 0);
END
$$;

CREATE OR REPLACE FUNCTION task_counts_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    INSERT INTO task_counts AS c (user_id, n)
    SELECT n.user_id, count(*) FROM new_rows n GROUP BY n.user_id ORDER BY n.user_id
    ON CONFLICT (user_id) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION task_counts_delete() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    UPDATE task_counts c SET n = c.n - d.k
    FROM (SELECT o.user_id, count(*) AS k FROM old_rows o GROUP BY o.user_id) d
    WHERE c.user_id = d.user_id;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION task_counts_move() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    UPDATE task_counts c SET n = c.n - 1 WHERE c.user_id = OLD.user_id;
    INSERT INTO task_counts AS c (user_id, n) VALUES (NEW.user_id, 1)
    ON CONFLICT (user_id) DO UPDATE SET n = c.n + 1;
    RETURN NULL;
END
$$;
DROP FUNCTION task_counts_lock(text[]);
DO $$
DECLARE
    f TEXT;
BEGIN
    FOREACH f IN ARRAY ARRAY['task_counts_insert()', 'task_counts_delete()', 'task_counts_move()',
                             'owner_task_count(text)'] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, %I, pg_temp', f,
                       current_schema());
    END LOOP;
END
$$;
