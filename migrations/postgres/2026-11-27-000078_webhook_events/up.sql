-- Webhooks (issue 43) queue one row per change, not one per webhook: the journal's trigger
-- writes one `webhook_events` row (two small indexes) for a change a user's webhooks take, and
-- the delivery worker fans it out to that user's webhooks in batches, off the write path (a
-- delivery row per webhook, four indexes each, had been written in the writing transaction:
-- with 3 webhooks per user, 10-25 % fewer writes; measured in benches/README.md).
--
-- An event names its recipients as the change found them (the user's enabled webhooks taking
-- its type, at the change), so a webhook created, re-enabled or changed later gets nothing of
-- it; one disabled since gets nothing either. The worker's fan-out (src/tasks/webhooks/
-- fan_out.rs) takes the oldest events FOR UPDATE SKIP LOCKED (instances take disjoint
-- batches) and deletes them and inserts their deliveries in one statement, so each event is
-- fanned out exactly once.

CREATE TABLE webhook_events (
    id         BIGSERIAL   PRIMARY KEY,
    user_id    TEXT        NOT NULL,
    event_type TEXT        NOT NULL,
    task_id    BIGINT      NOT NULL,
    -- Its recipients: the ids of the webhooks taking it at the change, comma-separated.
    webhook_ids TEXT       NOT NULL,
    -- The task's row as the change left it (`to_jsonb`; null for a deletion).
    task_row   TEXT,
    created_at TIMESTAMPTZ NOT NULL
);
-- By user, as every per-user table.
CREATE INDEX webhook_events_user ON webhook_events (user_id);
-- A queue: rows come and go; vacuum and analyse it often, not at 20 % of its size.
ALTER TABLE webhook_events SET (autovacuum_vacuum_threshold = 1000,
                                autovacuum_vacuum_scale_factor = 0,
                                autovacuum_analyze_threshold = 1000,
                                autovacuum_analyze_scale_factor = 0);

-- The second wall, as for every per-user table (000010); the server's requests never use it.
ALTER TABLE webhook_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_events FORCE ROW LEVEL SECURITY;
DO $$
BEGIN
    EXECUTE format('CREATE POLICY owner_maintenance ON webhook_events TO %I USING (true) '
                   'WITH CHECK (true)', current_user);
    EXECUTE format('GRANT USAGE ON SEQUENCE %s TO todo_api_journal',
                   pg_get_serial_sequence('webhook_events', 'id'));
END
$$;
GRANT INSERT ON webhook_events TO todo_api_journal;
CREATE POLICY journal_queues ON webhook_events FOR INSERT TO todo_api_journal WITH CHECK (true);

-- One journal entry: an event when the user has an enabled webhook taking its type. A user
-- with none pays the probe of `webhooks_enabled`, as before.
DROP TRIGGER task_changes_webhooks ON task_changes;
DROP FUNCTION webhook_enqueue();
CREATE FUNCTION webhook_enqueue() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
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

-- A webhook with a delivery in flight is leased itself (until when), so a claim skips it by
-- reading the webhook it joins anyway: the deliveries' partial index of leases it replaces
-- kept an entry for every claim ever made until a vacuum, and a claim read them all (140
-- deliveries a second after a burst, measured; see benches/README.md).
ALTER TABLE webhooks ADD COLUMN lease_until TIMESTAMPTZ;
DROP INDEX webhook_deliveries_leased;
