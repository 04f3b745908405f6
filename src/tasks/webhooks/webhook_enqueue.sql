-- Trigger (AFTER INSERT OR UPDATE on task_changes): queues the change for the user's webhooks
-- (`fan_out`).
CREATE OR REPLACE FUNCTION public.webhook_enqueue()
 RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
DECLARE
    v_ids text;
    v_type text;
    v_row tasks;
    v_json text;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.seq = OLD.seq THEN
        RETURN NULL;
    END IF;
    -- What a user without webhooks pays: this probe of `webhooks_enabled`.
    IF NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.user_id = NEW.user_id AND NOT w.disabled) THEN
        RETURN NULL;
    END IF;
    IF NOT NEW.deleted THEN
        SELECT * INTO v_row FROM tasks t WHERE t.id = NEW.task_id;
    END IF;
    IF NEW.deleted OR v_row.id IS NULL THEN
        v_type := 'task.deleted';
    ELSIF NEW.created_seq = NEW.seq THEN
        v_type := 'task.created';
    ELSIF v_row.completed_at = v_row.updated_at THEN
        v_type := 'task.completed';
    ELSE
        v_type := 'task.updated';
    END IF;
    SELECT string_agg(w.id::text, ',') INTO v_ids
    FROM webhooks w
    WHERE w.user_id = NEW.user_id AND NOT w.disabled
      AND strpos(',' || w.events || ',', ',' || v_type || ',') > 0;
    IF v_ids IS NULL THEN
        RETURN NULL;
    END IF;
    IF v_row.id IS NOT NULL AND v_type <> 'task.deleted' THEN
        v_json := (to_jsonb(v_row) - 'title_key' - 'description_key')::text;
    END IF;
    INSERT INTO webhook_events (user_id, event_type, task_id, webhook_ids, task_row, created_at)
    VALUES (NEW.user_id, v_type, NEW.task_id, v_ids, v_json, now());
    RETURN NULL;
END
$function$;
