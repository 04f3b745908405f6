-- Trigger (AFTER INSERT on tasks, per statement): adds to each owner's `task_counts`.
CREATE OR REPLACE FUNCTION public.task_counts_insert()
 RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
BEGIN
    PERFORM task_counts_lock(ARRAY(SELECT n.user_id FROM new_rows n));
    -- The owners' rows that are there take an UPDATE (INSERT … ON CONFLICT would lock each
    -- first, a WAL record of its own); the locks above keep anyone from adding one meanwhile.
    UPDATE task_counts c SET n = c.n + d.k
    FROM (SELECT n.user_id, count(*) AS k FROM new_rows n GROUP BY n.user_id) d
    WHERE c.user_id = d.user_id;
    INSERT INTO task_counts AS c (user_id, n)
    SELECT n.user_id, count(*) FROM new_rows n
    WHERE NOT EXISTS (SELECT 1 FROM task_counts x WHERE x.user_id = n.user_id)
    GROUP BY n.user_id ORDER BY n.user_id
    ON CONFLICT (user_id) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$function$;
