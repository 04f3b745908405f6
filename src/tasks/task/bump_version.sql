-- Trigger (BEFORE UPDATE on tasks, task_lists): one more `version` per change that changes
-- something.
CREATE OR REPLACE FUNCTION public.bump_version()
 RETURNS trigger LANGUAGE plpgsql AS $function$
BEGIN
    NEW.version := OLD.version;
    IF NEW IS DISTINCT FROM OLD THEN
        NEW.version := OLD.version + 1;
    END IF;
    RETURN NEW;
END
$function$;
