-- An owner's task count as the cap sees it (`task_counts`, counted again when marked unknown).
CREATE OR REPLACE FUNCTION public.owner_task_count(p_owner text)
 RETURNS bigint LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
BEGIN
    PERFORM refuse_unless_may_count(p_owner);
    RETURN coalesce((SELECT CASE WHEN c.n < 0
                                 THEN (SELECT count(*) FROM tasks t WHERE t.user_id = p_owner)
                                 ELSE c.n END
                     FROM task_counts c WHERE c.user_id = p_owner), 0);
END
$function$;
