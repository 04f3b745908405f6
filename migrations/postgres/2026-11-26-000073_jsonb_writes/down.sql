-- Back to 000064's positional write functions (restated from there, unchanged).
DROP FUNCTION task_create(jsonb);
DROP FUNCTION task_update(jsonb);
DROP FUNCTION task_create_owned(text, jsonb);
DROP FUNCTION task_update_owned(text, jsonb);
DROP FUNCTION task_store(tasks);
DROP FUNCTION task_store_restate();

CREATE FUNCTION task_create_owned(
    p_owner text, p_title text, p_description text, p_priority smallint, p_category text,
    p_due timestamp, p_list bigint, p_parent bigint, p_position text, p_tags text,
    p_tag_keys text[], p_tag_names text[], p_recurrence text, p_time_zone text,
    p_now timestamp, p_task_cap bigint, p_tag_cap bigint, p_max_depth int,
    p_max_position int, p_assignee text)
    RETURNS SETOF tasks
    LANGUAGE plpgsql AS $$
DECLARE
    v_list bigint := p_list;
    v_parent tasks;
    v_up bigint;
    v_level int;
    v_end text;
    v_position text := p_position;
    v_row tasks;
BEGIN
    PERFORM owner_locks(p_owner);
    IF p_list IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM task_lists l WHERE l.id = p_list AND l.user_id = p_owner) THEN
        RAISE EXCEPTION 'todo_api refused: list_not_found';
    END IF;
    IF p_parent IS NOT NULL THEN
        SELECT * INTO v_parent FROM tasks t WHERE t.id = p_parent AND t.user_id = p_owner;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'todo_api refused: not_found';
        END IF;
        v_level := 1;
        v_up := v_parent.parent_id;
        WHILE v_up IS NOT NULL LOOP
            IF v_up = 0 OR v_level > p_max_depth + 1 THEN
                v_level := -1;
                EXIT;
            END IF;
            SELECT t.parent_id INTO v_up FROM tasks t WHERE t.id = v_up AND t.user_id = p_owner;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'todo_api refused: not_found';
            END IF;
            v_level := v_level + 1;
        END LOOP;
        IF v_level = -1 OR v_level >= p_max_depth THEN
            RAISE EXCEPTION 'todo_api refused: too_deep %', v_level;
        END IF;
        IF p_list IS NOT NULL AND p_list IS DISTINCT FROM v_parent.list_id THEN
            RAISE EXCEPTION 'todo_api refused: subtask_list';
        END IF;
        v_list := v_parent.list_id;
    END IF;
    IF v_position IS NULL THEN
        v_end := group_end(p_owner, v_list, p_parent);
        IF v_end IS NULL THEN
            v_position := '80';
        ELSIF v_end ~ '^([0-9a-f]{2})+$' AND right(v_end, 2) = '80' THEN
            v_position := position_after(v_end);
        END IF;
        IF v_position IS NULL OR length(v_position) > p_max_position THEN
            RETURN;
        END IF;
    END IF;
    IF owner_task_count(p_owner) >= p_task_cap THEN
        RAISE EXCEPTION 'todo_api refused: task_limit';
    END IF;
    INSERT INTO tasks (user_id, title, description, completed, created_at, updated_at, priority,
                       category, due_date, list_id, parent_id, position, tags, recurrence,
                       time_zone, recurrence_start, assignee_id)
    VALUES (p_owner, p_title, p_description, false, p_now, p_now, p_priority, p_category, p_due,
            v_list, p_parent, v_position, p_tags, p_recurrence, p_time_zone,
            CASE WHEN p_recurrence IS NOT NULL THEN p_due END, p_assignee)
    RETURNING * INTO v_row;
    IF p_assignee IS NOT NULL AND NOT assignable(p_assignee, p_owner, v_list) THEN
        RAISE EXCEPTION 'todo_api refused: assignee';
    END IF;
    IF cardinality(p_tag_keys) > 0 THEN
        PERFORM index_task_tags(p_owner, v_row.id, p_tag_keys, p_tag_names, p_now, p_tag_cap);
    END IF;
    RETURN NEXT v_row;
END
$$;

CREATE FUNCTION task_update_owned(
    p_owner text, p_id bigint, p_expect bigint[], p_now timestamp, p_decided boolean,
    p_title text, p_set_description boolean, p_description text, p_completed boolean,
    p_priority smallint, p_category text, p_set_due boolean, p_due timestamp,
    p_set_recurrence boolean, p_recurrence text, p_time_zone text,
    p_set_start boolean, p_start timestamp, p_advance_to timestamp,
    p_tags text, p_tag_keys text[], p_tag_names text[], p_tag_cap bigint,
    p_set_list boolean, p_list bigint, p_set_parent boolean, p_parent bigint,
    p_position text, p_set_assignee boolean, p_assignee text)
    RETURNS TABLE (step text, task tasks)
    LANGUAGE plpgsql AS $$
DECLARE
    v_row tasks;
    v_placing boolean := p_set_list OR p_set_parent;
    v_touches boolean := p_set_recurrence OR p_time_zone IS NOT NULL OR p_set_due
                         OR p_completed IS TRUE;
    v_set_list boolean := p_set_list;
    v_set_parent boolean := p_set_parent;
    v_set_start boolean := p_set_start;
    v_start timestamp := p_start;
BEGIN
    IF NOT p_decided THEN
        IF v_placing THEN
            PERFORM owner_locks(p_owner);
        END IF;
        IF p_expect IS NOT NULL OR v_touches OR v_placing THEN
            SELECT * INTO v_row FROM tasks t WHERE t.id = p_id AND t.user_id = p_owner FOR UPDATE;
            IF NOT FOUND THEN
                RETURN;
            END IF;
            IF p_expect IS NOT NULL AND NOT v_row.version = ANY (p_expect) THEN
                RETURN QUERY SELECT 'conflict'::text, v_row;
                RETURN;
            END IF;
            IF (p_set_list AND p_list IS DISTINCT FROM v_row.list_id)
               OR (p_set_parent AND p_parent IS DISTINCT FROM v_row.parent_id)
               OR (v_touches AND CASE WHEN p_set_recurrence THEN p_recurrence
                                      ELSE v_row.recurrence END IS NOT NULL) THEN
                RETURN QUERY SELECT 'held'::text, v_row;
                RETURN;
            END IF;
            -- The list and parent named are the task's own: no move.
            v_set_list := false;
            v_set_parent := false;
            IF v_touches THEN
                v_set_start := true;
                v_start := NULL;
            END IF;
        END IF;
    END IF;
    UPDATE tasks t SET
        title = coalesce(p_title, t.title),
        description = CASE WHEN p_set_description THEN p_description ELSE t.description END,
        completed = CASE WHEN p_advance_to IS NOT NULL THEN false
                         ELSE coalesce(p_completed, t.completed) END,
        -- Stamped when the task becomes completed, kept when it already was, cleared when it
        -- becomes pending; an occurrence completed stamps it and leaves the task pending.
        completed_at = CASE WHEN p_advance_to IS NOT NULL THEN p_now
                            WHEN p_completed THEN CASE WHEN t.completed THEN t.completed_at
                                                       ELSE p_now END
                            WHEN NOT p_completed THEN NULL
                            ELSE t.completed_at END,
        updated_at = p_now,
        priority = coalesce(p_priority, t.priority),
        category = coalesce(p_category, t.category),
        due_date = CASE WHEN p_advance_to IS NOT NULL THEN p_advance_to
                        WHEN p_set_due THEN p_due ELSE t.due_date END,
        recurrence = CASE WHEN p_set_recurrence THEN p_recurrence ELSE t.recurrence END,
        time_zone = coalesce(p_time_zone, t.time_zone),
        recurrence_start = CASE WHEN v_set_start THEN v_start ELSE t.recurrence_start END,
        tags = coalesce(p_tags, t.tags),
        list_id = CASE WHEN v_set_list THEN p_list ELSE t.list_id END,
        parent_id = CASE WHEN v_set_parent THEN p_parent ELSE t.parent_id END,
        position = coalesce(p_position, t.position),
        assignee_id = CASE WHEN p_set_assignee THEN p_assignee ELSE t.assignee_id END,
        version = t.version + 1
    WHERE t.id = p_id AND t.user_id = p_owner
    RETURNING * INTO v_row;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    -- `tasks_assignee_fit` cleared an assignee who is no member of the list it moved to;
    -- one the patch names must be one (422).
    IF p_set_assignee AND v_row.assignee_id IS DISTINCT FROM p_assignee THEN
        RAISE EXCEPTION 'todo_api refused: assignee';
    END IF;
    IF p_set_assignee AND p_assignee IS NOT NULL
       AND NOT assignable(p_assignee, v_row.user_id, v_row.list_id) THEN
        RAISE EXCEPTION 'todo_api refused: assignee';
    END IF;
    IF p_tags IS NOT NULL THEN
        PERFORM index_task_tags(p_owner, p_id, p_tag_keys, p_tag_names, p_now, p_tag_cap);
    END IF;
    RETURN QUERY SELECT 'done'::text, v_row;
END
$$;

CREATE FUNCTION task_create(
    p_owner text, p_title text, p_description text, p_priority smallint, p_category text,
    p_due timestamp, p_list bigint, p_parent bigint, p_position text, p_tags text,
    p_tag_keys text[], p_tag_names text[], p_recurrence text, p_time_zone text,
    p_now timestamp, p_task_cap bigint, p_tag_cap bigint, p_max_depth int,
    p_max_position int, p_assignee text)
    RETURNS SETOF tasks
    LANGUAGE plpgsql AS $$
DECLARE
    v_owner text := p_owner;
BEGIN
    IF p_parent IS NOT NULL THEN
        v_owner := task_writer(p_owner, p_parent);
    ELSIF p_list IS NOT NULL THEN
        v_owner := list_writer(p_owner, p_list);
    END IF;
    RETURN QUERY SELECT * FROM task_create_owned(
        v_owner, p_title, p_description, p_priority, p_category, p_due, p_list, p_parent,
        p_position, p_tags, p_tag_keys, p_tag_names, p_recurrence, p_time_zone, p_now,
        p_task_cap, p_tag_cap, p_max_depth, p_max_position, p_assignee);
END
$$;

CREATE FUNCTION task_update(
    p_owner text, p_id bigint, p_expect bigint[], p_now timestamp, p_decided boolean,
    p_title text, p_set_description boolean, p_description text, p_completed boolean,
    p_priority smallint, p_category text, p_set_due boolean, p_due timestamp,
    p_set_recurrence boolean, p_recurrence text, p_time_zone text,
    p_set_start boolean, p_start timestamp, p_advance_to timestamp,
    p_tags text, p_tag_keys text[], p_tag_names text[], p_tag_cap bigint,
    p_set_list boolean, p_list bigint, p_set_parent boolean, p_parent bigint,
    p_position text, p_set_assignee boolean, p_assignee text)
    RETURNS TABLE (step text, task tasks)
    LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY SELECT * FROM task_update_owned(
        task_writer(p_owner, p_id), p_id, p_expect, p_now, p_decided, p_title,
        p_set_description, p_description, p_completed, p_priority, p_category, p_set_due,
        p_due, p_set_recurrence, p_recurrence, p_time_zone, p_set_start, p_start,
        p_advance_to, p_tags, p_tag_keys, p_tag_names, p_tag_cap, p_set_list, p_list,
        p_set_parent, p_parent, p_position, p_set_assignee, p_assignee);
END
$$;

DO $$
DECLARE
    f TEXT;
BEGIN
    FOREACH f IN ARRAY ARRAY[
        'task_create_owned(text, text, text, smallint, text, timestamp, bigint, bigint, text, text, text[], text[], text, text, timestamp, bigint, bigint, int, int, text)',
        'task_update_owned(text, bigint, bigint[], timestamp, boolean, text, boolean, text, boolean, smallint, text, boolean, timestamp, boolean, text, text, boolean, timestamp, timestamp, text, text[], text[], bigint, boolean, bigint, boolean, bigint, text, boolean, text)',
        'task_create(text, text, text, smallint, text, timestamp, bigint, bigint, text, text, text[], text[], text, text, timestamp, bigint, bigint, int, int, text)',
        'task_update(text, bigint, bigint[], timestamp, boolean, text, boolean, text, boolean, smallint, text, boolean, timestamp, boolean, text, text, boolean, timestamp, timestamp, text, text[], text[], bigint, boolean, bigint, boolean, bigint, text, boolean, text)'] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, %I, pg_temp', f, current_schema());
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO todo_api_app', f);
    END LOOP;
END
$$;
