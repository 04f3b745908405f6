CREATE OR REPLACE FUNCTION owner_tag_count(p_owner text) RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF NOT may_count_for(p_owner) THEN
        RAISE EXCEPTION 'todo_api refused: forbidden';
    END IF;
    RETURN (SELECT count(DISTINCT t.tag_key) FROM task_tags t WHERE t.user_id = p_owner);
END
$$;
