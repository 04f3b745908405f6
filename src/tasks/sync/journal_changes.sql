-- Trigger (AFTER each statement on tasks, task_lists): the journal entries and the NOTIFY
-- (`journal.rs`).
CREATE OR REPLACE FUNCTION public.journal_changes()
 RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
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
    l_lists bigint[];
    l_ids bigint[];
    l_gone boolean[];
    l_born boolean[];
    ids_from text;
    last bigint;
    r tasks;
    v_old tasks;
    v_rows record;
    v_seq bigint;
    v_gone boolean;
    v_born boolean;
    payload text;
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
            -- An UPDATE where the row is there, not INSERT … ON CONFLICT: the conflict path
            -- locks the row first, a WAL record of its own (issue 60: 54 bytes a write each).
            UPDATE task_sync_cursors cur SET last_seq = cur.last_seq + 1
            WHERE cur.user_id = r.user_id
            RETURNING cur.last_seq INTO v_seq;
            IF NOT FOUND THEN
                INSERT INTO task_sync_cursors AS cur (user_id, last_seq, pruned_seq)
                VALUES (r.user_id, 1, 0)
                ON CONFLICT (user_id) DO UPDATE SET last_seq = cur.last_seq + 1
                RETURNING cur.last_seq INTO v_seq;
            END IF;
            -- The task's entry where it is there (any earlier change, or the tombstone of a
            -- task inserted again with its old id), else a plain INSERT: with ON CONFLICT it
            -- would be a speculative row and its confirmation (48 bytes a create, issue 60).
            -- Nothing else can add this entry meanwhile: only a write of this task does, and
            -- this write holds the task's row.
            UPDATE task_changes j
            SET seq = v_seq, deleted = v_gone, changed_at = now(),
                created_seq = CASE WHEN v_born THEN v_seq ELSE j.created_seq END
            WHERE j.user_id = r.user_id AND j.task_id = r.id;
            IF NOT FOUND THEN
                INSERT INTO task_changes (user_id, task_id, seq, deleted, changed_at, created_seq)
                VALUES (r.user_id, r.id, v_seq, v_gone, now(), CASE WHEN v_born THEN v_seq END);
            END IF;
            payload := jsonb_build_object(
                'e', 'task', 'u', r.user_id, 'i', r.id, 's', v_seq,
                'k', CASE WHEN v_gone THEN 'deleted' WHEN v_born THEN 'created' ELSE 'updated' END
            )::text;
            IF NOT v_gone THEN
                one := to_jsonb(r) - 'title_key' - 'description_key';
            END IF;
            PERFORM journal_send(payload, one);
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
    -- The shared lists' own scopes (issue 60 item 1, the plan's first step): each change of a
    -- task in a list that has members once more, numbered per list (`list_journal_counters`,
    -- held to commit), a move a tombstone in the list it left and a creation in the one it
    -- entered. No reader yet: the members' own entries still carry it. After the users'
    -- counters (`journal_record`), as every statement that takes a list's counter has taken
    -- its owner's first: no new order of locks, so no new deadlock. A statement whose rows
    -- reached no member above has no list scope to write: no more reads of its rows.
    IF f_owners IS NULL THEN
        RETURN NULL;
    END IF;
    IF entity = 'task' AND TG_OP = 'INSERT' THEN
        SELECT array_agg(n.list_id), array_agg(n.id), array_agg(false), array_agg(true)
        INTO l_lists, l_ids, l_gone, l_born
        FROM new_rows n
        WHERE EXISTS (SELECT 1 FROM list_members m WHERE m.list_id = n.list_id);
    ELSIF entity = 'task' AND TG_OP = 'DELETE' THEN
        SELECT array_agg(o.list_id), array_agg(o.id), array_agg(true), array_agg(false)
        INTO l_lists, l_ids, l_gone, l_born
        FROM old_rows o
        WHERE EXISTS (SELECT 1 FROM list_members m WHERE m.list_id = o.list_id);
    ELSIF entity = 'task' AND TG_OP = 'UPDATE' THEN
        SELECT array_agg(x.list_id), array_agg(x.id), array_agg(x.deleted), array_agg(x.created)
        INTO l_lists, l_ids, l_gone, l_born
        FROM (SELECT n.list_id, n.id, false AS deleted,
                     o.list_id IS DISTINCT FROM n.list_id AS created
              FROM new_rows n JOIN old_rows o ON o.id = n.id
              WHERE (o.version IS DISTINCT FROM n.version OR o.list_id IS DISTINCT FROM n.list_id)
                AND EXISTS (SELECT 1 FROM list_members m WHERE m.list_id = n.list_id)
              UNION ALL
              SELECT o.list_id, o.id, true, false
              FROM old_rows o JOIN new_rows n ON n.id = o.id
              WHERE o.list_id IS DISTINCT FROM n.list_id
                AND EXISTS (SELECT 1 FROM list_members m WHERE m.list_id = o.list_id)) x;
    END IF;
    IF l_lists IS NOT NULL THEN
        WITH counts AS (
            SELECT l AS list, count(*) AS n FROM unnest(l_lists) AS l GROUP BY l
        ), taken AS (
            INSERT INTO list_journal_counters AS c (list_id, last_seq, pruned_seq)
            SELECT k.list, k.n, 0 FROM counts k ORDER BY k.list
            ON CONFLICT (list_id) DO UPDATE SET last_seq = c.last_seq + EXCLUDED.last_seq
            RETURNING c.list_id, c.last_seq
        )
        INSERT INTO list_task_changes AS j (list_id, task_id, seq, deleted, changed_at, created_seq)
        SELECT x.list, x.id, x.num, x.deleted, now(), CASE WHEN x.created THEN x.num END
        FROM (SELECT e.list, e.id, e.deleted, e.created,
                     t.last_seq - k.n + row_number() OVER (PARTITION BY e.list ORDER BY e.id) AS num
              FROM unnest(l_lists, l_ids, l_gone, l_born) AS e(list, id, deleted, created)
              JOIN taken t ON t.list_id = e.list JOIN counts k ON k.list = e.list) x
        ON CONFLICT (list_id, task_id) DO UPDATE
            SET seq = EXCLUDED.seq, deleted = EXCLUDED.deleted, changed_at = EXCLUDED.changed_at,
                created_seq = coalesce(EXCLUDED.created_seq, j.created_seq);
    END IF;
    RETURN NULL;
END
$function$;
