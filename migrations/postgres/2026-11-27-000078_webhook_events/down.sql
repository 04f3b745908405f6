-- Back to a delivery per webhook queued by the trigger; events not fanned out yet are.
CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (lease_until)
    WHERE state = 'pending' AND lease_until IS NOT NULL;
ALTER TABLE webhooks DROP COLUMN lease_until;

DROP TRIGGER task_changes_webhooks ON task_changes;
DROP FUNCTION webhook_enqueue();
INSERT INTO webhook_deliveries (webhook_id, user_id, event_type, task_id, task_row,
                                next_attempt_at, created_at)
SELECT w.id, w.user_id, e.event_type, e.task_id, e.task_row, e.created_at, e.created_at
FROM webhook_events e
JOIN webhooks w ON w.user_id = e.user_id AND NOT w.disabled
 AND w.id = ANY (string_to_array(e.webhook_ids, ',')::bigint[]);
DROP TABLE webhook_events;

CREATE FUNCTION webhook_enqueue() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
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
    -- The row's JSON once, not once per webhook.
    IF v_row.id IS NOT NULL AND v_type <> 'task.deleted' THEN
        v_json := (to_jsonb(v_row) - 'title_key' - 'description_key')::text;
    END IF;
    INSERT INTO webhook_deliveries (webhook_id, user_id, event_type, task_id, task_row,
                                    next_attempt_at, created_at)
    SELECT w.id, w.user_id, v_type, NEW.task_id, v_json, now(), now()
    FROM webhooks w
    WHERE w.user_id = NEW.user_id AND NOT w.disabled
      AND strpos(',' || w.events || ',', ',' || v_type || ',') > 0;
    RETURN NULL;
END
$$;

DO $$
BEGIN
    EXECUTE format('GRANT CREATE ON SCHEMA %I TO todo_api_journal', current_schema());
    ALTER FUNCTION webhook_enqueue() OWNER TO todo_api_journal;
    EXECUTE format('ALTER FUNCTION webhook_enqueue() SET search_path = pg_catalog, %I, pg_temp',
                   current_schema());
    REVOKE EXECUTE ON FUNCTION webhook_enqueue() FROM PUBLIC;
    EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM todo_api_journal', current_schema());
END
$$;


CREATE TRIGGER task_changes_webhooks AFTER INSERT OR UPDATE ON task_changes
    FOR EACH ROW EXECUTE FUNCTION webhook_enqueue();
