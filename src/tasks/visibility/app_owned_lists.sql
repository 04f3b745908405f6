-- The lists the viewer (`app.user_id`) owns: for the row-security policies.
CREATE OR REPLACE FUNCTION public.app_owned_lists()
 RETURNS bigint[] LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
DECLARE
    v_user text := NULLIF(current_setting('app.user_id', true), '');
BEGIN
    RETURN (SELECT coalesce(array_agg(l.id), '{}') FROM task_lists l WHERE l.user_id = v_user);
END
$function$;
