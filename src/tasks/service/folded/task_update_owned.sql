-- An update as the owner: precondition, list, parent, assignee and tag checks, the row through
-- `task_store`.
CREATE OR REPLACE FUNCTION public.task_update_owned(p_owner text, p jsonb)
 RETURNS TABLE(step text, task tasks) LANGUAGE plpgsql SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
DECLARE
    v_id bigint := (p->>'id')::bigint;
    v_now timestamp := (p->>'now')::timestamp;
    v_decided boolean := (p->>'decided')::boolean;
    v_advance_to timestamp := (p->>'advance_to')::timestamp;
    v_set jsonb := coalesce(p->'set', '{}');
    v_completed boolean := (v_set->>'completed')::boolean;
    v_placing boolean := v_set ? 'list_id' OR v_set ? 'parent_id';
    v_touches boolean := v_set ? 'recurrence' OR v_set->>'time_zone' IS NOT NULL
                         OR v_set ? 'due_date' OR v_completed IS TRUE;
    v_assignee text := v_set->>'assignee_id';
    v_row tasks;
    v_new tasks;
BEGIN
    IF NOT v_decided AND v_placing THEN
        PERFORM owner_locks(p_owner);
    END IF;
    SELECT * INTO v_row FROM tasks t WHERE t.id = v_id AND t.user_id = p_owner FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    v_new := jsonb_populate_record(v_row, v_set);
    IF NOT v_decided THEN
        IF jsonb_typeof(p->'expect') = 'array'
           AND NOT v_row.version = ANY (ARRAY(SELECT e::bigint
                                              FROM jsonb_array_elements_text(p->'expect') AS e)) THEN
            RETURN QUERY SELECT 'conflict'::text, v_row;
            RETURN;
        END IF;
        -- A move, or the series of a task that repeats or will: the service's to plan.
        IF v_new.list_id IS DISTINCT FROM v_row.list_id
           OR v_new.parent_id IS DISTINCT FROM v_row.parent_id
           OR (v_touches AND v_new.recurrence IS NOT NULL) THEN
            RETURN QUERY SELECT 'held'::text, v_row;
            RETURN;
        END IF;
        IF v_touches THEN
            v_new.recurrence_start := NULL;
        END IF;
    END IF;
    -- What the function decides, whatever `set` says.
    v_new.id := v_row.id;
    v_new.user_id := v_row.user_id;
    v_new.created_at := v_row.created_at;
    v_new.created_by := v_row.created_by;
    v_new.version := v_row.version;
    v_new.updated_at := v_now;
    IF v_advance_to IS NOT NULL THEN
        -- An occurrence completed: the due date moves on, the task stays pending.
        v_new.completed := false;
        v_new.completed_at := v_now;
        v_new.due_date := v_advance_to;
    ELSE
        -- Stamped when the task becomes completed, kept when it already was, cleared when it
        -- becomes pending.
        v_new.completed_at := CASE WHEN v_completed THEN CASE WHEN v_row.completed
                                                              THEN v_row.completed_at
                                                              ELSE v_now END
                                   WHEN NOT v_completed THEN NULL
                                   ELSE v_row.completed_at END;
    END IF;
    v_row := task_store(v_new);
    IF v_row.id IS NULL THEN
        RETURN;
    END IF;
    -- `tasks_assignee_fit` cleared an assignee who is no member of the list it moved to;
    -- one the patch names must be one (422).
    IF v_set ? 'assignee_id' AND v_row.assignee_id IS DISTINCT FROM v_assignee THEN
        RAISE EXCEPTION 'todo_api refused: assignee';
    END IF;
    IF v_assignee IS NOT NULL AND NOT assignable(v_assignee, v_row.user_id, v_row.list_id) THEN
        RAISE EXCEPTION 'todo_api refused: assignee';
    END IF;
    IF v_set->>'tags' IS NOT NULL THEN
        PERFORM index_task_tags(
            p_owner, v_id,
            ARRAY(SELECT k.e FROM jsonb_array_elements_text(p->'tag_keys')
                  WITH ORDINALITY AS k(e, n) ORDER BY k.n),
            ARRAY(SELECT k.e FROM jsonb_array_elements_text(p->'tag_names')
                  WITH ORDINALITY AS k(e, n) ORDER BY k.n),
            v_now, (p->>'tag_cap')::bigint);
    END IF;
    RETURN QUERY SELECT 'done'::text, v_row;
END
$function$;
