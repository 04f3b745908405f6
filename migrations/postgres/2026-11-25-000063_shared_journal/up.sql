-- Events and sync of shared lists (issue 29): the database keeps every member's books too
-- (DESIGN rule 12). A change to a task in a shared list is journaled for its owner and for
-- each member of its list, each numbered by their own counter, and heard by all of them (a
-- NOTIFY batch the listeners complete per user from the journal): sync, SSE and
-- subscriptions of every member see it, whoever wrote it (this server, psql, another
-- program), and nobody else does. A member added gets the list and its tasks as created; a
-- member removed (or leaving, or the list deleted) gets them as deleted.
--
-- `journal_changes` (000040) is replaced with the same function plus the members' entries.

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
        -- A writer that gives its own ids (a re-import, a restore) may pass the id sequence;
        -- the server's next insert would then take an id that exists (a 500). Move the
        -- sequence past them. An insert that took its id from the sequence leaves it as is.
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
    -- Shared lists (issue 29): each member of a changed task's list gets the change in their
    -- own journal, numbered by their own counter (so each member's cursor stays gap-free),
    -- and hears it (several owners: a batch the listeners read per user). A task that left
    -- a shared list is a deletion for the members who no longer see it, one that came in a
    -- creation.
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
        owners := owners || f_owners;
        ids := ids || f_ids;
        gone := gone || f_gone;
        born := born || f_born;
    END IF;
    IF cardinality(owners) = 1 AND NOT gone[1] THEN
        SELECT to_jsonb(n) - 'title_key' - 'description_key' - 'name_key' INTO one
        FROM new_rows n WHERE n.id = ids[1];
    END IF;
    PERFORM journal_notify(entity, owners, ids, gone, born, one);
    RETURN NULL;
END
$$;
-- A membership that begins or ends: the member's journal gets the list's tasks and the
-- list itself as created or deleted (the journal's role, as every journal write).
CREATE FUNCTION journal_memberships() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    v_user text;
    v_list bigint;
    v_gone boolean := TG_OP = 'DELETE';
    v_ids bigint[];
BEGIN
    IF v_gone THEN
        v_user := OLD.user_id;
        v_list := OLD.list_id;
    ELSE
        v_user := NEW.user_id;
        v_list := NEW.list_id;
    END IF;
    SELECT array_agg(t.id ORDER BY t.id) INTO v_ids FROM tasks t WHERE t.list_id = v_list;
    IF v_ids IS NOT NULL THEN
        PERFORM journal_notify('task', array_fill(v_user, ARRAY[cardinality(v_ids)]), v_ids,
                               array_fill(v_gone, ARRAY[cardinality(v_ids)]),
                               array_fill(NOT v_gone, ARRAY[cardinality(v_ids)]), NULL);
    END IF;
    PERFORM journal_notify('list', ARRAY[v_user], ARRAY[v_list], ARRAY[v_gone],
                           ARRAY[NOT v_gone], NULL);
    RETURN NULL;
END
$$;
CREATE TRIGGER list_members_journal AFTER INSERT OR DELETE ON list_members
    FOR EACH ROW EXECUTE FUNCTION journal_memberships();

-- As in 000040: owned by the journal's role, a fixed search path, executable by no one else.
DO $$
DECLARE
    f TEXT;
BEGIN
    EXECUTE format('GRANT CREATE ON SCHEMA %I TO todo_api_journal', current_schema());
    FOREACH f IN ARRAY ARRAY['journal_changes()', 'journal_memberships()'] LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO todo_api_journal', f);
        EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, %I, pg_temp', f, current_schema());
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
    EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM todo_api_journal', current_schema());
END
$$;
