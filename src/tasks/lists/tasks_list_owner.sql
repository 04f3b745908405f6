-- Constraint trigger (on tasks): a task in a list is its list owner's.
CREATE OR REPLACE FUNCTION public.tasks_list_owner()
 RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
DECLARE
    v_owner text;
BEGIN
    SELECT l.user_id INTO v_owner FROM task_lists l WHERE l.id = NEW.list_id;
    IF FOUND AND v_owner IS DISTINCT FROM NEW.user_id THEN
        RAISE EXCEPTION 'task % belongs to % but its list % to %: a task in a list must be its list owner''s',
                        NEW.id, NEW.user_id, NEW.list_id, v_owner
            USING ERRCODE = 'check_violation', CONSTRAINT = 'tasks_list_owner', TABLE = 'tasks';
    END IF;
    RETURN NULL;
END
$function$;
