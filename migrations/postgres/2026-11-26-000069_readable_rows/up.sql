-- Rows another program writes (issue 40, items 2 and 3): what the server cannot read or
-- would keep wrong is refused by the database, and the rows already there are mended first.
--
-- 1. Timestamps the server can read. `infinity`, `-infinity` and any time outside years
--    0001–9999 (the due dates the API takes: `rules::validate_due_date`; chrono holds no
--    `infinity`) in a timestamp of any table a user's reads decode made every read of the
--    owner and of every member of the task's list a 500. Existing such values become:
--    NULL in a nullable column (due_date, completed_at, recurrence_start: no due date, not
--    known when completed, a series anchored at its due date again); in a required one the
--    row's other readable time (created_at <-> updated_at, an invite's expiry -> its
--    creation: expired), else the time of this migration. Each mended task or list is a
--    change (a new version, journaled and sent like any other). Then a CHECK per column.
--    The read path does not rely on it (`tasks::stamp`): an unreadable row that comes back
--    anyway (a constraint dropped) is logged and left out, or its field answered as null.
-- 2. A list's owner as its member (`list_members`; the API refuses it) made the journal
--    trigger record the owner twice in one statement (`ON CONFLICT DO UPDATE command cannot
--    affect row a second time`): every write to the list's tasks was a 500. The recipients
--    of a change are now a set (`journal_changes`), such rows are removed (as the owner they
--    lose nothing: without journaling or unassigning anything for them), and refused from
--    now on (`list_members_not_owner`).
-- 3. A task whose owner is not its list's owner (possible by SQL only) was visible to the
--    list's members and not to the list's owner. Existing ones go back to their owner's
--    inbox (`list_id` NULL: a change, a deletion for the list's members); new ones are
--    refused (`tasks_list_owner`), and so is a list given an owner its tasks do not have or
--    who is its member (`task_lists_owner_fits`). Both are constraint triggers, deferrable:
--    a program that moves a list and its tasks to another owner does it in one transaction
--    after `SET CONSTRAINTS tasks_list_owner, task_lists_owner_fits DEFERRED`.

-- 2, first (each mending below is a journaled change): the journal of 000063 with its
-- recipients made a set. When the members' entries are added, each (user, row) is kept
-- once, its first entry (the owner's own before a member's).
CREATE OR REPLACE FUNCTION journal_changes() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    entity text := CASE TG_TABLE_NAME WHEN 'tasks' THEN 'task' ELSE 'list' END;
    owners text[];
    ids bigint[];
    gone boolean[];
    born boolean[];
    one jsonb;
    top bigint;
    f_owners text[];
    f_ids bigint[];
    f_gone boolean[];
    f_born boolean[];
    ids_from text;
    last bigint;
    called boolean;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(n.user_id), array_agg(n.id), array_agg(false), array_agg(true), max(n.id)
        INTO owners, ids, gone, born, top FROM new_rows n;
        ids_from := pg_get_serial_sequence(TG_TABLE_NAME, 'id');
        EXECUTE format('SELECT last_value, is_called FROM %s', ids_from) INTO last, called;
        IF top > last OR (top = last AND NOT called) THEN
            PERFORM setval(ids_from, top, true);
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(o.user_id), array_agg(o.id), array_agg(true), array_agg(false)
        INTO owners, ids, gone, born FROM old_rows o;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(c.user_id), array_agg(c.id), array_agg(c.deleted), array_agg(c.created)
        INTO owners, ids, gone, born
        FROM (SELECT n.user_id, n.id, false AS deleted,
                     NOT EXISTS (SELECT 1 FROM old_rows o
                                 WHERE o.id = n.id AND o.user_id = n.user_id) AS created
              FROM new_rows n
              WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.id = n.id
                                AND o.user_id = n.user_id AND o.version = n.version)
              UNION ALL
              SELECT o.user_id, o.id, true, false
              FROM old_rows o
              WHERE NOT EXISTS (SELECT 1 FROM new_rows n
                                WHERE n.id = o.id AND n.user_id = o.user_id)) c;
    ELSE
        EXECUTE format('SELECT array_agg(user_id), array_agg(id), array_agg(true), array_agg(false)
                        FROM %I', TG_TABLE_NAME)
        INTO owners, ids, gone, born;
    END IF;
    IF owners IS NULL THEN
        RETURN NULL;
    END IF;
    IF entity = 'task' AND TG_OP = 'INSERT' THEN
        SELECT array_agg(m.user_id), array_agg(n.id), array_agg(false), array_agg(true)
        INTO f_owners, f_ids, f_gone, f_born
        FROM new_rows n JOIN list_members m ON m.list_id = n.list_id;
    ELSIF entity = 'task' AND TG_OP = 'DELETE' THEN
        SELECT array_agg(m.user_id), array_agg(o.id), array_agg(true), array_agg(false)
        INTO f_owners, f_ids, f_gone, f_born
        FROM old_rows o JOIN list_members m ON m.list_id = o.list_id;
    ELSIF entity = 'task' AND TG_OP = 'UPDATE' THEN
        SELECT array_agg(x.user_id), array_agg(x.id), array_agg(x.deleted), array_agg(x.created)
        INTO f_owners, f_ids, f_gone, f_born
        FROM (SELECT m.user_id, n.id, false AS deleted,
                     o.list_id IS DISTINCT FROM n.list_id AS created
              FROM new_rows n JOIN old_rows o ON o.id = n.id
              JOIN list_members m ON m.list_id = n.list_id
              WHERE o.version IS DISTINCT FROM n.version OR o.list_id IS DISTINCT FROM n.list_id
              UNION ALL
              SELECT m.user_id, o.id, true, false
              FROM old_rows o JOIN new_rows n ON n.id = o.id
              JOIN list_members m ON m.list_id = o.list_id
              WHERE o.list_id IS DISTINCT FROM n.list_id
                AND NOT EXISTS (SELECT 1 FROM list_members k
                                WHERE k.list_id = n.list_id AND k.user_id = m.user_id)) x;
    END IF;
    IF f_owners IS NOT NULL THEN
        -- One entry per (user, row): journal_record's upsert may touch a row once only.
        SELECT array_agg(d.who ORDER BY d.at), array_agg(d.id ORDER BY d.at),
               array_agg(d.deleted ORDER BY d.at), array_agg(d.created ORDER BY d.at)
        INTO owners, ids, gone, born
        FROM (SELECT DISTINCT ON (c.who, c.id) c.who, c.id, c.deleted, c.created, c.at
              FROM unnest(owners || f_owners, ids || f_ids, gone || f_gone, born || f_born)
                   WITH ORDINALITY AS c(who, id, deleted, created, at)
              ORDER BY c.who, c.id, c.at) d;
    END IF;
    IF cardinality(owners) = 1 AND NOT gone[1] THEN
        SELECT to_jsonb(n) - 'title_key' - 'description_key' - 'name_key' INTO one
        FROM new_rows n WHERE n.id = ids[1];
    END IF;
    PERFORM journal_notify(entity, owners, ids, gone, born, one);
    RETURN NULL;
END
$$;

-- The owner as a member: removed without the membership triggers (the owner keeps seeing
-- the list and its tasks, and stays the assignee of what was assigned to them: for them
-- nothing changed), then refused.
ALTER TABLE list_members DISABLE TRIGGER list_members_journal;
ALTER TABLE list_members DISABLE TRIGGER list_members_unassign;
DELETE FROM list_members m USING task_lists l WHERE l.id = m.list_id AND l.user_id = m.user_id;
ALTER TABLE list_members ENABLE TRIGGER list_members_journal;
ALTER TABLE list_members ENABLE TRIGGER list_members_unassign;

-- 3. Tasks in a list another user owns go back to their owner's inbox.
UPDATE tasks t SET list_id = NULL
FROM task_lists l WHERE l.id = t.list_id AND l.user_id <> t.user_id;

-- 1. Timestamps: whether a time is one the server reads (NULL for NULL, which a CHECK admits).
CREATE FUNCTION readable_time(at timestamptz) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT at BETWEEN '0001-01-01 00:00:00+00' AND '9999-12-31 23:59:59.999999+00'
$$;

UPDATE tasks SET
    due_date = CASE WHEN readable_time(due_date) THEN due_date END,
    completed_at = CASE WHEN readable_time(completed_at) THEN completed_at END,
    recurrence_start = CASE WHEN readable_time(recurrence_start) THEN recurrence_start END,
    created_at = CASE WHEN readable_time(created_at) THEN created_at
                      WHEN readable_time(updated_at) THEN updated_at ELSE now() END,
    updated_at = CASE WHEN readable_time(updated_at) THEN updated_at
                      WHEN readable_time(created_at) THEN created_at ELSE now() END
WHERE NOT readable_time(due_date) OR NOT readable_time(completed_at)
   OR NOT readable_time(recurrence_start) OR NOT readable_time(created_at)
   OR NOT readable_time(updated_at);
UPDATE task_lists SET
    created_at = CASE WHEN readable_time(created_at) THEN created_at
                      WHEN readable_time(updated_at) THEN updated_at ELSE now() END,
    updated_at = CASE WHEN readable_time(updated_at) THEN updated_at
                      WHEN readable_time(created_at) THEN created_at ELSE now() END
WHERE NOT readable_time(created_at) OR NOT readable_time(updated_at);
UPDATE task_tags SET changed_at = now() WHERE NOT readable_time(changed_at);
UPDATE list_members SET added_at = now() WHERE NOT readable_time(added_at);
UPDATE list_invites SET
    created_at = CASE WHEN readable_time(created_at) THEN created_at ELSE now() END,
    expires_at = CASE WHEN readable_time(expires_at) THEN expires_at
                      WHEN readable_time(created_at) THEN created_at ELSE now() END
WHERE NOT readable_time(created_at) OR NOT readable_time(expires_at);

ALTER TABLE tasks
    ADD CONSTRAINT tasks_due_date_readable CHECK (readable_time(due_date)),
    ADD CONSTRAINT tasks_completed_at_readable CHECK (readable_time(completed_at)),
    ADD CONSTRAINT tasks_recurrence_start_readable CHECK (readable_time(recurrence_start)),
    ADD CONSTRAINT tasks_created_at_readable CHECK (readable_time(created_at)),
    ADD CONSTRAINT tasks_updated_at_readable CHECK (readable_time(updated_at));
ALTER TABLE task_lists
    ADD CONSTRAINT task_lists_created_at_readable CHECK (readable_time(created_at)),
    ADD CONSTRAINT task_lists_updated_at_readable CHECK (readable_time(updated_at));
ALTER TABLE task_tags
    ADD CONSTRAINT task_tags_changed_at_readable CHECK (readable_time(changed_at));
ALTER TABLE list_members
    ADD CONSTRAINT list_members_added_at_readable CHECK (readable_time(added_at));
ALTER TABLE list_invites
    ADD CONSTRAINT list_invites_created_at_readable CHECK (readable_time(created_at)),
    ADD CONSTRAINT list_invites_expires_at_readable CHECK (readable_time(expires_at));

-- The refusals: check_violation (23514) naming the constraint, as a CHECK would. SECURITY
-- DEFINER with the journal's role (which reads tasks, lists and members whatever the
-- caller's row security): an editor's write in a shared list must see the list's owner.
CREATE FUNCTION list_members_not_owner() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM task_lists l WHERE l.id = NEW.list_id AND l.user_id = NEW.user_id) THEN
        RAISE EXCEPTION 'list % is owned by %: its owner cannot be its member', NEW.list_id, NEW.user_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'list_members_not_owner',
                  TABLE = 'list_members';
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER list_members_not_owner AFTER INSERT OR UPDATE ON list_members
    DEFERRABLE INITIALLY IMMEDIATE
    FOR EACH ROW EXECUTE FUNCTION list_members_not_owner();

CREATE FUNCTION tasks_list_owner() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    v_owner text;
BEGIN
    SELECT l.user_id INTO v_owner FROM task_lists l WHERE l.id = NEW.list_id;
    IF FOUND AND v_owner IS DISTINCT FROM NEW.user_id THEN
        RAISE EXCEPTION 'task % belongs to % but its list % to %: a task in a list must be its list owner''s',
                        NEW.id, NEW.user_id, NEW.list_id, v_owner
            USING ERRCODE = 'check_violation', CONSTRAINT = 'tasks_list_owner', TABLE = 'tasks';
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER tasks_list_owner AFTER INSERT OR UPDATE OF user_id, list_id ON tasks
    DEFERRABLE INITIALLY IMMEDIATE
    FOR EACH ROW WHEN (NEW.list_id IS NOT NULL)
    EXECUTE FUNCTION tasks_list_owner();

CREATE FUNCTION task_lists_owner_fits() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM tasks t WHERE t.list_id = NEW.id AND t.user_id <> NEW.user_id) THEN
        RAISE EXCEPTION 'list % now owned by % holds tasks of another owner: a task in a list must be its list owner''s',
                        NEW.id, NEW.user_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'task_lists_owner_fits',
                  TABLE = 'task_lists';
    END IF;
    IF EXISTS (SELECT 1 FROM list_members m WHERE m.list_id = NEW.id AND m.user_id = NEW.user_id) THEN
        RAISE EXCEPTION 'list % is owned by %: its owner cannot be its member', NEW.id, NEW.user_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'task_lists_owner_fits',
                  TABLE = 'task_lists';
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER task_lists_owner_fits AFTER UPDATE OF user_id ON task_lists
    DEFERRABLE INITIALLY IMMEDIATE
    FOR EACH ROW WHEN (NEW.user_id IS DISTINCT FROM OLD.user_id)
    EXECUTE FUNCTION task_lists_owner_fits();

-- As in 000040: owned by the journal's role, a fixed search path, executable by no one else.
DO $$
DECLARE
    f TEXT;
BEGIN
    EXECUTE format('GRANT CREATE ON SCHEMA %I TO todo_api_journal', current_schema());
    FOREACH f IN ARRAY ARRAY['journal_changes()', 'list_members_not_owner()',
                             'tasks_list_owner()', 'task_lists_owner_fits()'] LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO todo_api_journal', f);
        EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, %I, pg_temp', f, current_schema());
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
    EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM todo_api_journal', current_schema());
END
$$;
