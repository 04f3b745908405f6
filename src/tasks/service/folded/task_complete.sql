-- Set or flip `completed` as a request asks (`folded::complete`): `task_complete_owned` as the
-- task's writer.
CREATE OR REPLACE FUNCTION public.task_complete(p_owner text, p_id bigint, p_value boolean, p_expect bigint[], p_now timestamp without time zone)
 RETURNS TABLE(step text, task tasks) LANGUAGE plpgsql SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
BEGIN
    RETURN QUERY SELECT * FROM task_complete_owned(
        task_writer(p_owner, p_id), p_id, p_value, p_expect, p_now);
END
$function$;
