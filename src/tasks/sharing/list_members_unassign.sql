-- Trigger (AFTER DELETE on list_members): a member who leaves is unassigned from the list's tasks.
CREATE OR REPLACE FUNCTION public.list_members_unassign()
 RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
BEGIN
    UPDATE tasks t SET assignee_id = NULL, updated_at = (now() AT TIME ZONE 'UTC')
    WHERE t.list_id = OLD.list_id AND t.assignee_id = OLD.user_id;
    RETURN NULL;
END
$function$;
