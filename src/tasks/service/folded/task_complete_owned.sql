-- Set or flip `completed` as the owner; a repeating task comes back held for the server.
CREATE OR REPLACE FUNCTION public.task_complete_owned(p_owner text, p_id bigint, p_value boolean, p_expect bigint[], p_now timestamp without time zone)
 RETURNS TABLE(step text, task tasks) LANGUAGE plpgsql SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
DECLARE
    v_row tasks;
BEGIN
    -- Twice at most: a row the first UPDATE missed but that qualifies once read (another
    -- transaction changed it between the two) is held now, so the second finds it.
    LOOP
        UPDATE tasks t SET
            completed = NOT t.completed,
            updated_at = p_now,
            completed_at = CASE WHEN t.completed THEN NULL ELSE p_now END,
            version = t.version + 1
        WHERE t.id = p_id AND t.user_id = p_owner
          AND (p_expect IS NULL OR t.version = ANY (p_expect))
          AND (t.completed OR NOT coalesce(p_value, true) OR t.recurrence IS NULL OR t.due_date IS NULL)
          AND t.completed IS DISTINCT FROM p_value
        RETURNING * INTO v_row;
        IF FOUND THEN
            step := 'done';
            task := v_row;
            RETURN NEXT;
            RETURN;
        END IF;
        SELECT * INTO v_row FROM tasks t WHERE t.id = p_id AND t.user_id = p_owner FOR UPDATE;
        IF NOT FOUND THEN
            RETURN;
        END IF;
        -- A NULL among the versions expected makes `= ANY` NULL where it does not match: a
        -- conflict, as the UPDATE above took it (or this would go round again).
        IF p_expect IS NOT NULL AND NOT coalesce(v_row.version = ANY (p_expect), false) THEN
            RETURN QUERY SELECT 'conflict'::text, v_row;
            RETURN;
        END IF;
        IF coalesce(p_value, true) AND NOT v_row.completed AND v_row.recurrence IS NOT NULL
           AND v_row.due_date IS NOT NULL THEN
            RETURN QUERY SELECT 'held'::text, v_row;
            RETURN;
        END IF;
        IF v_row.completed = p_value THEN
            RETURN QUERY SELECT 'unchanged'::text, v_row;
            RETURN;
        END IF;
    END LOOP;
END
$function$;
