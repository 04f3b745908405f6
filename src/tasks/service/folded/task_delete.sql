-- The delete a request makes (`folded::delete`): `task_delete_owned` as the task's writer.
CREATE OR REPLACE FUNCTION public.task_delete(p_owner text, p_id bigint, p_expect bigint[], p_before timestamp without time zone, p_keep bigint, p_max_depth integer)
 RETURNS TABLE(step text, task tasks) LANGUAGE plpgsql SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
BEGIN
    RETURN QUERY SELECT * FROM task_delete_owned(
        task_writer(p_owner, p_id), p_id, p_expect, p_before, p_keep, p_max_depth);
END
$function$;
