CREATE OR REPLACE FUNCTION owner_tag_count(p_owner text) RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
BEGIN
    IF NOT may_count_for(p_owner) THEN
        RAISE EXCEPTION 'todo_api refused: forbidden';
    END IF;
    RETURN (SELECT count(DISTINCT t.tag_key) FROM task_tags t WHERE t.user_id = p_owner);
END
$$;
-- CREATE OR REPLACE keeps the owner and grants but not the function's settings: its search
-- path again, as every migration since 000064 sets it (the schema the migrations run in).
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION owner_tag_count(text) SET search_path = pg_catalog, %I, pg_temp',
                   current_schema());
END
$$;
