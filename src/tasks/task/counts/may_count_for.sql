-- Whether the viewer (`app.user_id`) may count an owner's rows: the owner, or an editor of one of
-- its lists.
CREATE OR REPLACE FUNCTION public.may_count_for(p_owner text)
 RETURNS boolean LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
DECLARE
    v_user text := NULLIF(current_setting('app.user_id', true), '');
BEGIN
    RETURN p_owner = v_user
        OR EXISTS (SELECT 1 FROM list_members m JOIN task_lists l ON l.id = m.list_id
                   WHERE m.user_id = v_user AND m.role = 'editor' AND l.user_id = p_owner);
END
$function$;
