-- Trigger (AFTER DELETE on tasks, per statement): takes from each owner's `task_counts`.
CREATE OR REPLACE FUNCTION public.task_counts_delete()
 RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
BEGIN
    PERFORM task_counts_lock(ARRAY(SELECT o.user_id FROM old_rows o));
    UPDATE task_counts c SET n = c.n - d.k
    FROM (SELECT o.user_id, count(*) AS k FROM old_rows o GROUP BY o.user_id) d
    WHERE c.user_id = d.user_id;
    RETURN NULL;
END
$function$;
