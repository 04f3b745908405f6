-- Writes at the database's pace, continued (issue 41): with NOTIFY's lock gone (000071), a
-- write's cost is its CPU, and the journal trigger was the larger part of it (measured with
-- callgrind on a single-user backend: about a third of a create's instructions).
--
-- 1. `journal_changes` takes the common case first: ONE task written by one statement, in no
--    list that has members (one recipient). It records the same entry with two single-row
--    upserts and builds the same payload, where the general path (unchanged, for sets, lists,
--    members and truncates) aggregates arrays, joins them and calls two more functions.
--    Both paths read the id sequence with `pg_sequence_last_value` instead of a dynamic
--    `EXECUTE` (parsed and planned on every insert).
-- 2. A toggle or complete (`task_complete_owned`, 000050 / 000061) tries its UPDATE first, with
--    the function's conditions in its WHERE (the precondition, not a repeating task's held
--    occurrence, not already as asked): one statement where it took two (the row read FOR
--    UPDATE, then written). When the UPDATE matches nothing, the function reads the row as
--    before and says why (no such task, conflict, held, unchanged).
-- 3. The `*_readable` CHECKs (000069) hold the expression of `readable_time` itself rather
--    than a call of it: PostgreSQL rebuilds each CHECK of a table for every statement that
--    writes it, and inlining the SQL function's body meant parsing it each time. Same names,
--    same rule (the function stays, for programs and the down migration).

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
    r tasks;
    v_old tasks;
    v_rows record;
    v_seq bigint;
    v_gone boolean;
    v_born boolean;
    payload text;
    held text;
BEGIN
    -- The common case first (issue 41): one task written by one statement, in no list that
    -- has members: one owner, one entry, one payload, in a few statements instead of the
    -- general path's aggregates over sets (the same rows, seq and payload it would give).
    IF TG_TABLE_NAME = 'tasks' AND TG_OP <> 'TRUNCATE' THEN
        IF TG_OP = 'INSERT' THEN
            SELECT n AS row, count(*) OVER () AS n INTO v_rows FROM new_rows n LIMIT 1;
            r := v_rows.row;
            v_gone := false;
            v_born := true;
        ELSIF TG_OP = 'DELETE' THEN
            SELECT o AS row, count(*) OVER () AS n INTO v_rows FROM old_rows o LIMIT 1;
            r := v_rows.row;
            v_gone := true;
            v_born := false;
        ELSE
            SELECT n AS row, count(*) OVER () AS n INTO v_rows FROM new_rows n LIMIT 1;
            r := v_rows.row;
            IF v_rows.n = 1 THEN
                SELECT o.* INTO v_old FROM old_rows o;
            END IF;
            v_gone := false;
            v_born := false;
        END IF;
        IF v_rows.n = 1
           AND (TG_OP <> 'UPDATE' OR (v_old.id = r.id AND v_old.user_id = r.user_id
                                      AND v_old.list_id IS NOT DISTINCT FROM r.list_id))
           AND (r.list_id IS NULL
                OR NOT EXISTS (SELECT 1 FROM list_members m WHERE m.list_id = r.list_id)) THEN
            IF TG_OP = 'UPDATE' AND v_old.version = r.version THEN
                RETURN NULL;
            END IF;
            IF TG_OP = 'INSERT' THEN
                ids_from := pg_get_serial_sequence('tasks', 'id');
                last := pg_sequence_last_value(ids_from::regclass);
                IF last IS NULL OR r.id > last THEN
                    PERFORM setval(ids_from, r.id, true);
                END IF;
            END IF;
            INSERT INTO task_sync_cursors AS cur (user_id, last_seq, pruned_seq)
            VALUES (r.user_id, 1, 0)
            ON CONFLICT (user_id) DO UPDATE SET last_seq = cur.last_seq + 1
            RETURNING cur.last_seq INTO v_seq;
            INSERT INTO task_changes AS j (user_id, task_id, seq, deleted, changed_at, created_seq)
            VALUES (r.user_id, r.id, v_seq, v_gone, now(), CASE WHEN v_born THEN v_seq END)
            ON CONFLICT (user_id, task_id) DO UPDATE
                SET seq = EXCLUDED.seq, deleted = EXCLUDED.deleted,
                    changed_at = EXCLUDED.changed_at,
                    created_seq = coalesce(EXCLUDED.created_seq, j.created_seq);
            payload := jsonb_build_object(
                'e', 'task', 'u', r.user_id, 'i', r.id, 's', v_seq,
                'k', CASE WHEN v_gone THEN 'deleted' WHEN v_born THEN 'created' ELSE 'updated' END
            )::text;
            IF NOT v_gone THEN
                one := to_jsonb(r) - 'title_key' - 'description_key';
                IF octet_length(payload) + octet_length(one::text) < 6000 THEN
                    payload := (payload::jsonb || jsonb_build_object('w', one))::text;
                ELSE
                    payload := (payload::jsonb || '{"r": true}'::jsonb)::text;
                END IF;
            END IF;
            IF octet_length(payload) > 7999 THEN
                payload := '{"u": "", "k": "resync"}';
            END IF;
            IF current_setting('app.events', true) IS DISTINCT FROM 'deferred' THEN
                PERFORM pg_notify('todo_api_task_events', payload);
                RETURN NULL;
            END IF;
            held := coalesce(current_setting('app.deferred_events', true), '');
            IF held = '' THEN
                held := payload;
            ELSIF octet_length(held) + octet_length(payload) > 1000000 THEN
                IF held NOT LIKE '%"k": "resync"}' THEN
                    held := held || E'\n' || '{"u": "", "k": "resync"}';
                END IF;
            ELSE
                held := held || E'\n' || payload;
            END IF;
            PERFORM set_config('app.deferred_events', held, true);
            RETURN NULL;
        END IF;
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(n.user_id), array_agg(n.id), array_agg(false), array_agg(true), max(n.id)
        INTO owners, ids, gone, born, top FROM new_rows n;
        ids_from := pg_get_serial_sequence(TG_TABLE_NAME, 'id');
        last := pg_sequence_last_value(ids_from::regclass);
        IF last IS NULL OR top > last THEN
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
-- As in 000040 and 000069: a fixed search path (CREATE OR REPLACE drops the function's SET).
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION journal_changes() SET search_path = pg_catalog, %I, pg_temp',
                   current_schema());
END
$$;


DO $$
DECLARE
    c record;
    expr text;
BEGIN
    FOR c IN SELECT con.conrelid::regclass AS tab, con.conname,
                    (SELECT a.attname FROM pg_attribute a
                     WHERE a.attrelid = con.conrelid AND a.attnum = con.conkey[1]) AS col
             FROM pg_constraint con
             WHERE con.contype = 'c' AND con.connamespace = current_schema()::regnamespace
               AND pg_get_constraintdef(con.oid) ~ '^CHECK \(readable_time\(\w+\)\)$' LOOP
        expr := format('%I BETWEEN %L::timestamptz AND %L::timestamptz', c.col,
                       '0001-01-01 00:00:00+00', '9999-12-31 23:59:59.999999+00');
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I, ADD CONSTRAINT %I CHECK (%s)',
                       c.tab, c.conname, c.conname, expr);
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION task_complete_owned(p_owner text, p_id bigint, p_value boolean,
                                               p_expect bigint[], p_now timestamp)
    RETURNS TABLE(step text, task tasks)
    LANGUAGE plpgsql AS $$
DECLARE
    v_row tasks;
BEGIN
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
    IF p_expect IS NOT NULL AND NOT v_row.version = ANY (p_expect) THEN
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
    UPDATE tasks t SET
        completed = NOT t.completed,
        updated_at = p_now,
        completed_at = CASE WHEN t.completed THEN NULL ELSE p_now END,
        version = t.version + 1
    WHERE t.id = p_id AND t.user_id = p_owner
    RETURNING * INTO v_row;
    RETURN QUERY SELECT 'done'::text, v_row;
END
$$;
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION task_complete_owned(text, bigint, boolean, bigint[], timestamp) '
                   'SET search_path = pg_catalog, %I, pg_temp', current_schema());
END
$$;
