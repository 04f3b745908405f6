-- Back to counting the owner's tasks on each create (000064).
CREATE OR REPLACE FUNCTION owner_task_count(p_owner text) RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
BEGIN
    IF NOT may_count_for(p_owner) THEN
        RAISE EXCEPTION 'todo_api refused: forbidden';
    END IF;
    RETURN (SELECT count(*) FROM tasks t WHERE t.user_id = p_owner);
END
$$;
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION owner_task_count(text) SET search_path = pg_catalog, %I, pg_temp',
                   current_schema());
END
$$;
DROP TRIGGER tasks_count_insert ON tasks;
DROP TRIGGER tasks_count_delete ON tasks;
DROP TRIGGER tasks_count_move ON tasks;
DROP TRIGGER tasks_count_truncate ON tasks;
DROP FUNCTION task_counts_insert();
DROP FUNCTION task_counts_delete();
DROP FUNCTION task_counts_move();
DROP FUNCTION task_counts_truncate();
DROP TABLE task_counts;
