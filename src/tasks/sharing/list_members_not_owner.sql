-- Constraint trigger (on list_members): a list's owner is never its member.
CREATE OR REPLACE FUNCTION public.list_members_not_owner()
 RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
BEGIN
    IF EXISTS (SELECT 1 FROM task_lists l WHERE l.id = NEW.list_id AND l.user_id = NEW.user_id) THEN
        RAISE EXCEPTION 'list % is owned by %: its owner cannot be its member', NEW.list_id, NEW.user_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'list_members_not_owner',
                  TABLE = 'list_members';
    END IF;
    RETURN NULL;
END
$function$;
