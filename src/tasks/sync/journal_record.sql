-- The journal entries of a statement's rows and their owners' counters (`task_sync_cursors`).
CREATE OR REPLACE FUNCTION public.journal_record(entity text, owners text[], ids bigint[], gone boolean[], born boolean[])
 RETURNS TABLE(owner text, after bigint, upto bigint) LANGUAGE plpgsql SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
DECLARE
    range_owners text[];
    range_after bigint[];
    range_upto bigint[];
BEGIN
    WITH counts AS (
        SELECT o AS who, count(*) AS n FROM unnest(owners) AS o GROUP BY o
    ), taken AS (
        INSERT INTO task_sync_cursors AS cur (user_id, last_seq, pruned_seq)
        SELECT k.who, k.n, 0 FROM counts k ORDER BY k.who
        ON CONFLICT (user_id) DO UPDATE SET last_seq = cur.last_seq + EXCLUDED.last_seq
        RETURNING cur.user_id, cur.last_seq
    )
    SELECT array_agg(t.user_id), array_agg(t.last_seq - k.n), array_agg(t.last_seq)
    INTO range_owners, range_after, range_upto
    FROM taken t JOIN counts k ON k.who = t.user_id;

    IF entity = 'task' THEN
        INSERT INTO task_changes AS j (user_id, task_id, seq, deleted, changed_at, created_seq)
        SELECT x.who, x.id, x.num, x.deleted, now(), CASE WHEN x.created THEN x.num END
        FROM (SELECT c.who, c.id, c.deleted, c.created,
                     r.first + row_number() OVER (PARTITION BY c.who ORDER BY c.id) AS num
              FROM unnest(owners, ids, gone, born) AS c(who, id, deleted, created)
              JOIN unnest(range_owners, range_after) AS r(who, first) ON r.who = c.who) x
        ON CONFLICT (user_id, task_id) DO UPDATE
            SET seq = EXCLUDED.seq, deleted = EXCLUDED.deleted, changed_at = EXCLUDED.changed_at,
                created_seq = coalesce(EXCLUDED.created_seq, j.created_seq);
    ELSE
        INSERT INTO list_changes AS j (user_id, list_id, seq, deleted, changed_at, created_seq)
        SELECT x.who, x.id, x.num, x.deleted, now(), CASE WHEN x.created THEN x.num END
        FROM (SELECT c.who, c.id, c.deleted, c.created,
                     r.first + row_number() OVER (PARTITION BY c.who ORDER BY c.id) AS num
              FROM unnest(owners, ids, gone, born) AS c(who, id, deleted, created)
              JOIN unnest(range_owners, range_after) AS r(who, first) ON r.who = c.who) x
        ON CONFLICT (user_id, list_id) DO UPDATE
            SET seq = EXCLUDED.seq, deleted = EXCLUDED.deleted, changed_at = EXCLUDED.changed_at,
                created_seq = coalesce(EXCLUDED.created_seq, j.created_seq);
    END IF;
    RETURN QUERY SELECT * FROM unnest(range_owners, range_after, range_upto);
END
$function$;
