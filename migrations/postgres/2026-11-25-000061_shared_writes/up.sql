-- Writes in shared lists (issue 29): an editor creates, updates, completes, moves and deletes
-- the tasks of a list shared with them; a viewer does not. The task keeps its OWNER's
-- user_id (the owner's caps, locks and journal), and records who made it.
--
-- `created_by`: the user whose request created the row. The default reads the transaction's
-- viewer (`app.user_id`, set by every unit of work), so the write functions need not pass it;
-- another program's insert leaves it NULL (unknown). `assignee_id`: the owner or a member of
-- the task's list, or NULL (the server checks it; `tasks::members` clears it when that member
-- leaves).
ALTER TABLE tasks
    ADD COLUMN created_by  TEXT DEFAULT NULLIF(current_setting('app.user_id', true), ''),
    ADD COLUMN assignee_id TEXT;
CREATE INDEX tasks_assignee ON tasks (assignee_id, list_id) WHERE assignee_id IS NOT NULL;

-- The owner whose task `p_task` an actor writes: the actor's own (or none: the function
-- then finds no such task of theirs, a 404), or, in a list shared with them, its owner when
-- they are an editor; a viewer is refused (`forbidden`, a 403: they see the task). One index
-- lookup each (tasks' and list_members' primary keys), in the write's one statement.
CREATE FUNCTION task_writer(p_actor text, p_task bigint) RETURNS text
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_owner text;
    v_role text;
BEGIN
    SELECT t.user_id, m.role INTO v_owner, v_role
    FROM tasks t JOIN list_members m ON m.list_id = t.list_id AND m.user_id = p_actor
    WHERE t.id = p_task AND t.user_id <> p_actor;
    IF NOT FOUND THEN
        RETURN p_actor;
    END IF;
    IF v_role = 'editor' THEN
        RETURN v_owner;
    END IF;
    RAISE EXCEPTION 'todo_api refused: forbidden';
END
$$;

-- The same for a list a task is put in.
CREATE FUNCTION list_writer(p_actor text, p_list bigint) RETURNS text
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_owner text;
    v_role text;
BEGIN
    SELECT l.user_id, m.role INTO v_owner, v_role
    FROM task_lists l JOIN list_members m ON m.list_id = l.id AND m.user_id = p_actor
    WHERE l.id = p_list AND l.user_id <> p_actor;
    IF NOT FOUND THEN
        RETURN p_actor;
    END IF;
    IF v_role = 'editor' THEN
        RETURN v_owner;
    END IF;
    RAISE EXCEPTION 'todo_api refused: forbidden';
END
$$;

-- The plain writes of 000050 keep their bodies, renamed `…_owned` (they act for the owner
-- they are given); the names the server calls become the same functions that first resolve
-- that owner from the actor (the server's `p_owner` is the viewer), so the round trips stay
-- those of 000050: one statement per plain write.
ALTER FUNCTION task_create(text, text, text, smallint, text, timestamp, bigint, bigint, text,
    text, text[], text[], text, text, timestamp, bigint, bigint, int, int)
    RENAME TO task_create_owned;
ALTER FUNCTION task_update(text, bigint, bigint[], timestamp, boolean, text, boolean, text,
    boolean, smallint, text, boolean, timestamp, boolean, text, text, boolean, timestamp,
    timestamp, text, text[], text[], bigint, boolean, bigint, boolean, bigint, text)
    RENAME TO task_update_owned;
ALTER FUNCTION task_complete(text, bigint, boolean, bigint[], timestamp)
    RENAME TO task_complete_owned;
ALTER FUNCTION task_delete(text, bigint, bigint[], timestamp, bigint, int)
    RENAME TO task_delete_owned;

CREATE FUNCTION task_create(
    p_owner text, p_title text, p_description text, p_priority smallint, p_category text,
    p_due timestamp, p_list bigint, p_parent bigint, p_position text, p_tags text,
    p_tag_keys text[], p_tag_names text[], p_recurrence text, p_time_zone text,
    p_now timestamp, p_task_cap bigint, p_tag_cap bigint, p_max_depth int,
    p_max_position int)
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
        p_task_cap, p_tag_cap, p_max_depth, p_max_position);
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
    p_position text)
    RETURNS TABLE (step text, task tasks)
    LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY SELECT * FROM task_update_owned(
        task_writer(p_owner, p_id), p_id, p_expect, p_now, p_decided, p_title,
        p_set_description, p_description, p_completed, p_priority, p_category, p_set_due,
        p_due, p_set_recurrence, p_recurrence, p_time_zone, p_set_start, p_start,
        p_advance_to, p_tags, p_tag_keys, p_tag_names, p_tag_cap, p_set_list, p_list,
        p_set_parent, p_parent, p_position);
END
$$;

CREATE FUNCTION task_complete(p_owner text, p_id bigint, p_value boolean, p_expect bigint[],
                              p_now timestamp)
    RETURNS TABLE (step text, task tasks)
    LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY SELECT * FROM task_complete_owned(
        task_writer(p_owner, p_id), p_id, p_value, p_expect, p_now);
END
$$;

CREATE FUNCTION task_delete(p_owner text, p_id bigint, p_expect bigint[], p_before timestamp,
                            p_keep bigint, p_max_depth int)
    RETURNS TABLE (step text, task tasks)
    LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY SELECT * FROM task_delete_owned(
        task_writer(p_owner, p_id), p_id, p_expect, p_before, p_keep, p_max_depth);
END
$$;

DO $$
DECLARE
    f TEXT;
BEGIN
    FOREACH f IN ARRAY ARRAY[
        'task_writer(text, bigint)',
        'list_writer(text, bigint)',
        'task_create(text, text, text, smallint, text, timestamp, bigint, bigint, text, text, '
            'text[], text[], text, text, timestamp, bigint, bigint, int, int)',
        'task_update(text, bigint, bigint[], timestamp, boolean, text, boolean, text, boolean, '
            'smallint, text, boolean, timestamp, boolean, text, text, boolean, timestamp, '
            'timestamp, text, text[], text[], bigint, boolean, bigint, boolean, bigint, text)',
        'task_complete(text, bigint, boolean, bigint[], timestamp)',
        'task_delete(text, bigint, bigint[], timestamp, bigint, int)'] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, %I, pg_temp', f, current_schema());
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO todo_api_app', f);
    END LOOP;
END
$$;

-- The tag index of a shared task is its owner's rows (`index_task_tags` writes them for the
-- owner): readable by the list's members, written by its editors, as the task itself.
DROP POLICY viewer_select ON task_tags;
DROP POLICY viewer_insert ON task_tags;
DROP POLICY viewer_update ON task_tags;
DROP POLICY viewer_delete ON task_tags;
CREATE POLICY viewer_select ON task_tags FOR SELECT
    USING (user_id = NULLIF(current_setting('app.user_id', true), '')
           OR task_id IN (SELECT t.id FROM tasks t
                          WHERE t.list_id = ANY ((SELECT app_member_lists())::bigint[])));
CREATE POLICY viewer_insert ON task_tags FOR INSERT
    WITH CHECK (user_id = NULLIF(current_setting('app.user_id', true), '')
                OR task_id IN (SELECT t.id FROM tasks t
                               WHERE t.list_id = ANY ((SELECT app_editor_lists())::bigint[])));
CREATE POLICY viewer_update ON task_tags FOR UPDATE
    USING (user_id = NULLIF(current_setting('app.user_id', true), '')
           OR task_id IN (SELECT t.id FROM tasks t
                          WHERE t.list_id = ANY ((SELECT app_editor_lists())::bigint[])))
    WITH CHECK (user_id = NULLIF(current_setting('app.user_id', true), '')
                OR task_id IN (SELECT t.id FROM tasks t
                               WHERE t.list_id = ANY ((SELECT app_editor_lists())::bigint[])));
CREATE POLICY viewer_delete ON task_tags FOR DELETE
    USING (user_id = NULLIF(current_setting('app.user_id', true), '')
           OR task_id IN (SELECT t.id FROM tasks t
                          WHERE t.list_id = ANY ((SELECT app_editor_lists())::bigint[])));
