-- Trigger (BEFORE UPDATE OF list_id on tasks): an assignee no member of the new list is cleared.
CREATE OR REPLACE FUNCTION public.tasks_assignee_fit()
 RETURNS trigger LANGUAGE plpgsql SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
BEGIN
    IF NOT assignable(NEW.assignee_id, NEW.user_id, NEW.list_id) THEN
        NEW.assignee_id := NULL;
    END IF;
    RETURN NEW;
END
$function$;
