-- Back to 000069's journal_changes (the general path for every statement) and CHECKs that
-- call readable_time.
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
BEGIN
    FOR c IN SELECT con.conrelid::regclass AS tab, con.conname,
                    (SELECT a.attname FROM pg_attribute a
                     WHERE a.attrelid = con.conrelid AND a.attnum = con.conkey[1]) AS col
             FROM pg_constraint con
             WHERE con.contype = 'c' AND con.connamespace = current_schema()::regnamespace
               AND con.conname LIKE '%\_readable'
               AND pg_get_constraintdef(con.oid) LIKE '%0001-01-01 00:00:00+00%' LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I, ADD CONSTRAINT %I CHECK (readable_time(%I))',
                       c.tab, c.conname, c.conname, c.col);
    END LOOP;
END
$$;

-- 000050's complete (renamed task_complete_owned by 000061): the row read FOR UPDATE, then written.
CREATE OR REPLACE FUNCTION task_complete_owned(p_owner text, p_id bigint, p_value boolean,
                                               p_expect bigint[], p_now timestamp)
    RETURNS TABLE (step text, task tasks)
    LANGUAGE plpgsql AS $$
DECLARE
    v_row tasks;
BEGIN
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
