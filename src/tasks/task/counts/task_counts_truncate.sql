-- Trigger (AFTER TRUNCATE on tasks): no owner has tasks left.
CREATE OR REPLACE FUNCTION public.task_counts_truncate()
 RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
BEGIN
    DELETE FROM task_counts;
    RETURN NULL;
END
$function$;
