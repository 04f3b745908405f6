-- Trigger (BEFORE UPDATE on tasks): a moved `remind_at` fires again.
CREATE OR REPLACE FUNCTION public.tasks_rearm_reminder()
 RETURNS trigger LANGUAGE plpgsql SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
BEGIN
    NEW.reminded_at := NULL;
    RETURN NEW;
END
$function$;
