-- Trigger (BEFORE INSERT on tasks, no position given): places another writer's task at its group's
-- end.
CREATE OR REPLACE FUNCTION public.tasks_place()
 RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
BEGIN
    PERFORM pg_advisory_xact_lock(
        (hashtextextended(NEW.user_id, 0) & ((1::bigint << 62) - 1)) | (1::bigint << 63));
    NEW.position := position_after((
        SELECT max(position) FROM tasks
        WHERE user_id = NEW.user_id
          AND list_id IS NOT DISTINCT FROM NEW.list_id
          AND parent_id IS NOT DISTINCT FROM NEW.parent_id));
    RETURN NEW;
END
$function$;
