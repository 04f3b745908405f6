-- The ids of the tasks in the viewer's member lists: for `task_tags`' policy.
CREATE OR REPLACE FUNCTION public.app_member_task_ids()
 RETURNS SETOF bigint LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
DECLARE
    v_list bigint;
BEGIN
    FOREACH v_list IN ARRAY app_member_lists() LOOP
        RETURN QUERY SELECT t.id FROM tasks t WHERE t.list_id = v_list;
    END LOOP;
END
$function$;
