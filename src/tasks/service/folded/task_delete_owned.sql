-- A delete as the owner: the subtree, and the owner's tombstone prune.
CREATE OR REPLACE FUNCTION public.task_delete_owned(p_owner text, p_id bigint, p_expect bigint[], p_before timestamp without time zone, p_keep bigint, p_max_depth integer)
 RETURNS TABLE(step text, task tasks) LANGUAGE plpgsql SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
DECLARE
    v_row tasks;
    v_newest bigint;
BEGIN
    PERFORM owner_locks(p_owner);
    IF p_expect IS NOT NULL THEN
        SELECT * INTO v_row FROM tasks t WHERE t.id = p_id AND t.user_id = p_owner FOR UPDATE;
        IF NOT FOUND THEN
            RETURN;
        END IF;
        IF NOT v_row.version = ANY (p_expect) THEN
            RETURN QUERY SELECT 'conflict'::text, v_row;
            RETURN;
        END IF;
    END IF;
    RETURN QUERY
    WITH RECURSIVE subtree (id, depth) AS (
        SELECT t.id, 0 FROM tasks t WHERE t.id = p_id AND t.user_id = p_owner
        UNION ALL
        SELECT c.id, s.depth + 1 FROM tasks c JOIN subtree s ON c.parent_id = s.id
        WHERE c.user_id = p_owner AND s.depth <= p_max_depth
    ), gone AS (
        DELETE FROM tasks t WHERE t.user_id = p_owner AND t.id IN (SELECT s.id FROM subtree s)
        RETURNING t.*
    )
    SELECT 'done'::text, g::tasks FROM gone g;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT max(n.seq) INTO v_newest FROM (
        SELECT max(c.seq) AS seq FROM task_changes c
        WHERE c.user_id = p_owner AND c.deleted AND c.changed_at < p_before
        UNION ALL
        SELECT max(c.seq) FROM list_changes c
        WHERE c.user_id = p_owner AND c.deleted AND c.changed_at < p_before
        UNION ALL
        (SELECT c.seq FROM task_changes c WHERE c.user_id = p_owner AND c.deleted
         ORDER BY c.seq DESC OFFSET p_keep LIMIT 1)
    ) AS n;
    IF v_newest IS NOT NULL THEN
        DELETE FROM list_changes c WHERE c.user_id = p_owner AND c.deleted AND c.seq <= v_newest;
        UPDATE task_sync_cursors c SET pruned_seq = v_newest
        WHERE c.user_id = p_owner AND c.pruned_seq < v_newest;
        DELETE FROM task_changes c WHERE c.user_id = p_owner AND c.deleted AND c.seq <= v_newest;
    END IF;
END
$function$;
