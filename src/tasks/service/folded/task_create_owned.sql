-- A create as the owner: owner's locks, cap, list and parent checks, defaults, placement, tags.
CREATE OR REPLACE FUNCTION public.task_create_owned(p_owner text, p jsonb)
 RETURNS SETOF tasks LANGUAGE plpgsql SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
DECLARE
    -- The server's row over the columns' defaults: a key it does not send (a column added
    -- later, with a DEFAULT) takes the default, as in an INSERT that leaves it out.
    v_new tasks := jsonb_populate_record(task_defaults(), p->'task');
    v_now timestamp := (p->>'now')::timestamp;
    v_max_depth int := (p->>'max_depth')::int;
    -- Tag keys and names pair up by position: taken in their order.
    v_tag_keys text[] := ARRAY(SELECT k.e FROM jsonb_array_elements_text(p->'tag_keys')
                               WITH ORDINALITY AS k(e, n) ORDER BY k.n);
    v_tag_names text[] := ARRAY(SELECT k.e FROM jsonb_array_elements_text(p->'tag_names')
                                WITH ORDINALITY AS k(e, n) ORDER BY k.n);
    v_list bigint := v_new.list_id;
    v_parent tasks;
    v_up bigint;
    v_level int;
    v_end text;
    v_position text := p->>'position';
    v_row tasks;
BEGIN
    PERFORM owner_locks(p_owner);
    IF v_new.list_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM task_lists l
                       WHERE l.id = v_new.list_id AND l.user_id = p_owner) THEN
        RAISE EXCEPTION 'todo_api refused: list_not_found';
    END IF;
    IF v_new.parent_id IS NOT NULL THEN
        SELECT * INTO v_parent FROM tasks t WHERE t.id = v_new.parent_id AND t.user_id = p_owner;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'todo_api refused: not_found';
        END IF;
        v_level := 1;
        v_up := v_parent.parent_id;
        WHILE v_up IS NOT NULL LOOP
            IF v_up = 0 OR v_level > v_max_depth + 1 THEN
                v_level := -1;
                EXIT;
            END IF;
            SELECT t.parent_id INTO v_up FROM tasks t WHERE t.id = v_up AND t.user_id = p_owner;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'todo_api refused: not_found';
            END IF;
            v_level := v_level + 1;
        END LOOP;
        IF v_level = -1 OR v_level >= v_max_depth THEN
            RAISE EXCEPTION 'todo_api refused: too_deep %', v_level;
        END IF;
        IF v_new.list_id IS NOT NULL AND v_new.list_id IS DISTINCT FROM v_parent.list_id THEN
            RAISE EXCEPTION 'todo_api refused: subtask_list';
        END IF;
        v_list := v_parent.list_id;
    END IF;
    IF v_position IS NULL THEN
        v_end := group_end(p_owner, v_list, v_new.parent_id);
        IF v_end IS NULL THEN
            v_position := '80';
        ELSIF v_end ~ '^([0-9a-f]{2})+$' AND right(v_end, 2) = '80' THEN
            v_position := position_after(v_end);
        END IF;
        IF v_position IS NULL OR length(v_position) > (p->>'max_position')::int THEN
            RETURN;
        END IF;
    END IF;
    IF owner_task_cap_reached(p_owner, (p->>'task_cap')::bigint) THEN
        RAISE EXCEPTION 'todo_api refused: task_limit';
    END IF;
    -- What the function decides; the rest is the server's row as given. The id and the
    -- creator are the columns' defaults (the identity, the transaction's viewer): a record
    -- inserted whole gives every column.
    v_new.id := nextval(pg_get_serial_sequence('tasks', 'id'));
    v_new.user_id := p_owner;
    v_new.completed := false;
    v_new.completed_at := NULL;
    v_new.created_at := v_now;
    v_new.updated_at := v_now;
    v_new.version := 1;
    v_new.list_id := v_list;
    v_new.position := v_position;
    -- A series counts its occurrences from the due date it began with.
    v_new.recurrence_start := CASE WHEN v_new.recurrence IS NOT NULL THEN v_new.due_date END;
    v_new.created_by := NULLIF(current_setting('app.user_id', true), '');
    INSERT INTO tasks SELECT (v_new).* RETURNING * INTO v_row;
    IF v_new.assignee_id IS NOT NULL AND NOT assignable(v_new.assignee_id, p_owner, v_list) THEN
        RAISE EXCEPTION 'todo_api refused: assignee';
    END IF;
    IF cardinality(v_tag_keys) > 0 THEN
        PERFORM index_task_tags(p_owner, v_row.id, v_tag_keys, v_tag_names, v_now,
                                (p->>'tag_cap')::bigint);
    END IF;
    RETURN NEXT v_row;
END
$function$;
