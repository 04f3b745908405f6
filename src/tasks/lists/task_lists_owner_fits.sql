-- Constraint trigger (owner change on task_lists): the list's tasks and members still fit.
CREATE OR REPLACE FUNCTION public.task_lists_owner_fits()
 RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
BEGIN
    IF EXISTS (SELECT 1 FROM tasks t WHERE t.list_id = NEW.id AND t.user_id <> NEW.user_id) THEN
        RAISE EXCEPTION 'list % now owned by % holds tasks of another owner: a task in a list must be its list owner''s',
                        NEW.id, NEW.user_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'task_lists_owner_fits',
                  TABLE = 'task_lists';
    END IF;
    IF EXISTS (SELECT 1 FROM list_members m WHERE m.list_id = NEW.id AND m.user_id = NEW.user_id) THEN
        RAISE EXCEPTION 'list % is owned by %: its owner cannot be its member', NEW.id, NEW.user_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'task_lists_owner_fits',
                  TABLE = 'task_lists';
    END IF;
    RETURN NULL;
END
$function$;
