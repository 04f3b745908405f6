-- The update a request makes (`folded::update`): who may write the task, then `task_update_owned`.
CREATE OR REPLACE FUNCTION public.task_update(p jsonb)
 RETURNS TABLE(step text, task tasks) LANGUAGE plpgsql SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
BEGIN
    RETURN QUERY SELECT * FROM task_update_owned(
        task_writer(p->>'owner', (p->>'id')::bigint), p);
END
$function$;
