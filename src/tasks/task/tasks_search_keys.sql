-- Trigger (BEFORE INSERT on tasks, and BEFORE UPDATE when a title, a description or a key
-- changes: migration 000085): keeps `title_key` and `description_key` (`search_keys`).
CREATE OR REPLACE FUNCTION public.tasks_search_keys()
 RETURNS trigger LANGUAGE plpgsql AS $function$
BEGIN
    NEW.title_key := search_fold(NEW.title);
    NEW.description_key := search_fold(NEW.description);
    RETURN NEW;
END
$function$;
