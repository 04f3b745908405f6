-- Trigger (AFTER INSERT on tasks, per statement): adds to each owner's `task_counts`.
CREATE OR REPLACE FUNCTION public.task_counts_insert()
 RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
BEGIN
    PERFORM task_counts_lock(ARRAY(SELECT n.user_id FROM new_rows n));
    INSERT INTO task_counts AS c (user_id, n)
    SELECT n.user_id, count(*) FROM new_rows n GROUP BY n.user_id ORDER BY n.user_id
    ON CONFLICT (user_id) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$function$;
