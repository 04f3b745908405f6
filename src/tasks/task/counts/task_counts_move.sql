-- Trigger (AFTER UPDATE of the owner on tasks): moves a task's count to its new owner.
CREATE OR REPLACE FUNCTION public.task_counts_move()
 RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
BEGIN
    PERFORM task_counts_lock(ARRAY[OLD.user_id, NEW.user_id]);
    UPDATE task_counts c SET n = c.n - 1 WHERE c.user_id = OLD.user_id;
    INSERT INTO task_counts AS c (user_id, n) VALUES (NEW.user_id, 1)
    ON CONFLICT (user_id) DO UPDATE SET n = c.n + 1;
    RETURN NULL;
END
$function$;
