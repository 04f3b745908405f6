-- The tag cap's count reads one index entry per tag, not one per tagged task. A write that
-- brings a tag name its owner has never used counts the owner's distinct tags under the
-- owner's placement lock (`index_task_tags`, 000064), and `count(DISTINCT tag_key)` read every
-- `task_tags` row of the owner: 13-14 ms for 10,000 tasks of three tags each (30,000 rows, 400
-- tags), growing with every tagged task. It now walks the `(user_id, tag_key)` index from one
-- tag to the next (a recursive CTE, one probe per distinct tag: 3-4 ms there), so its cost
-- follows the number of tags, which MAX_TAGS_PER_USER bounds. Same answer, same checks.
CREATE OR REPLACE FUNCTION owner_tag_count(p_owner text) RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
BEGIN
    IF NOT may_count_for(p_owner) THEN
        RAISE EXCEPTION 'todo_api refused: forbidden';
    END IF;
    RETURN (
        WITH RECURSIVE k(key) AS (
            (SELECT t.tag_key FROM task_tags t WHERE t.user_id = p_owner
             ORDER BY t.tag_key LIMIT 1)
            UNION ALL
            SELECT (SELECT t.tag_key FROM task_tags t
                    WHERE t.user_id = p_owner AND t.tag_key > k.key
                    ORDER BY t.tag_key LIMIT 1)
            FROM k WHERE k.key IS NOT NULL)
        SELECT count(k.key) FROM k);
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
