-- Who may be a task's assignee: its owner or a member of its list (`assignees.rs`).
CREATE OR REPLACE FUNCTION public.assignable(p_user text, p_owner text, p_list bigint)
 RETURNS boolean LANGUAGE sql STABLE SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
    SELECT p_user = p_owner
        OR (p_list IS NOT NULL
            AND EXISTS (SELECT 1 FROM list_members m
                        WHERE m.list_id = p_list AND m.user_id = p_user))
$function$;
