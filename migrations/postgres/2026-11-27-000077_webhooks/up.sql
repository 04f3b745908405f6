-- Webhooks (issue 43): a user's endpoints, the messages queued for them and the attempts made.
--
-- Messages are queued by the database, from the journal: a row trigger on `task_changes`
-- (which the journal's own triggers write, whoever wrote the task: this server, another
-- program, psql) queues one delivery per enabled webhook of the entry's user that takes the
-- event. A user with no enabled webhook costs one call of `webhook_enqueue` and one probe of
-- the partial index `webhooks_enabled` per journal entry, nothing else: no NOTIFY, no lock,
-- no extra row. The delivery's body is made and stored by the worker at its first attempt
-- (the same bytes on every retry).

CREATE TABLE webhooks (
    id              BIGSERIAL   PRIMARY KEY,
    user_id         TEXT        NOT NULL,
    url             TEXT        NOT NULL CHECK (char_length(url) BETWEEN 1 AND 2048),
    -- The event types it takes, comma-separated (`task.created,task.deleted`).
    events          TEXT        NOT NULL,
    description     TEXT,
    -- `whsec_<base64>`: the server must sign with it, so it is kept as given.
    secret          TEXT        NOT NULL,
    disabled        BOOLEAN     NOT NULL DEFAULT FALSE,
    disabled_reason TEXT,
    -- The first failed attempt since the last success (WEBHOOK_DISABLE_AFTER counts from it).
    failing_since   TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhooks_user ON webhooks (user_id, id);
-- The probe every journal entry makes: does its user have an enabled webhook?
CREATE INDEX webhooks_enabled ON webhooks (user_id) WHERE NOT disabled;

CREATE TABLE webhook_deliveries (
    id              BIGSERIAL   PRIMARY KEY,
    webhook_id      BIGINT      NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    user_id         TEXT        NOT NULL,
    event_type      TEXT        NOT NULL,
    task_id         BIGINT,
    -- The task's row as the change left it (`to_jsonb`; null for a deletion and for messages
    -- the server queues itself), so a message says what the change did even when the task
    -- changed again, or went, before it was sent.
    task_row        TEXT,
    -- Set at the first attempt and kept: the `webhook-id` and the body of every attempt.
    message_id      TEXT,
    body            TEXT,
    -- pending, succeeded, failed (retries used up), dropped (its task was gone at the first
    -- attempt).
    state           TEXT        NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'succeeded', 'failed', 'dropped')),
    attempts        INTEGER     NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    -- An instance's claim: its token and until when (a crashed instance's claim runs out).
    lease_token     BIGINT,
    lease_until     TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL
);
-- By user, as every per-user table (its policies filter by it): the smallest such index,
-- since every write with webhooks inserts here.
CREATE INDEX webhook_deliveries_user ON webhook_deliveries (user_id);
-- In the claim's order (the oldest due first), so a claim reads its batch off the index.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id)
    WHERE state = 'pending';
-- The deliveries in flight (claimed, not recorded yet): what a claim must not take a second
-- of for the same webhook. Small (a few per instance), so a claim does not read the backlog.
-- A queue's statistics are stale as soon as it grows (rows past the last ANALYZE's
-- histogram look like none): analyse it after every 1,000 changes, not 10 % of the table.
ALTER TABLE webhook_deliveries SET (autovacuum_analyze_threshold = 1000,
                                    autovacuum_analyze_scale_factor = 0,
                                    autovacuum_vacuum_scale_factor = 0.02);
CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (lease_until)
    WHERE state = 'pending' AND lease_until IS NOT NULL;
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, state);

CREATE TABLE webhook_attempts (
    id              BIGSERIAL   PRIMARY KEY,
    delivery_id     BIGINT      NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    webhook_id      BIGINT      NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    user_id         TEXT        NOT NULL,
    message_id      TEXT        NOT NULL,
    event_type      TEXT        NOT NULL,
    attempt         INTEGER     NOT NULL,
    status_code     INTEGER,
    error           TEXT,
    duration_ms     BIGINT      NOT NULL,
    attempted_at    TIMESTAMPTZ NOT NULL,
    next_attempt_at TIMESTAMPTZ
);
CREATE INDEX webhook_attempts_user ON webhook_attempts (user_id, webhook_id, id);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id);

-- The second wall, as for every per-user table (000010).
DO $$
DECLARE
    t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['webhooks', 'webhook_deliveries', 'webhook_attempts'] LOOP
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO todo_api_app', t);
        EXECUTE format('GRANT USAGE ON SEQUENCE %s TO todo_api_app',
                       pg_get_serial_sequence(t, 'id'));
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY viewer_select ON %I FOR SELECT USING '
                       '(user_id = NULLIF(current_setting(''app.user_id'', true), ''''))', t);
        EXECUTE format('CREATE POLICY viewer_insert ON %I FOR INSERT WITH CHECK '
                       '(user_id = NULLIF(current_setting(''app.user_id'', true), ''''))', t);
        EXECUTE format('CREATE POLICY viewer_update ON %I FOR UPDATE USING '
                       '(user_id = NULLIF(current_setting(''app.user_id'', true), '''')) '
                       'WITH CHECK (user_id = NULLIF(current_setting(''app.user_id'', true), ''''))', t);
        EXECUTE format('CREATE POLICY viewer_delete ON %I FOR DELETE USING '
                       '(user_id = NULLIF(current_setting(''app.user_id'', true), ''''))', t);
        EXECUTE format('CREATE POLICY owner_maintenance ON %I TO %I USING (true) WITH CHECK (true)',
                       t, current_user);
    END LOOP;
END
$$;

-- The journal's role (000040) reads webhooks and queues deliveries, whoever wrote.
GRANT SELECT ON webhooks TO todo_api_journal;
GRANT INSERT ON webhook_deliveries TO todo_api_journal;
DO $$
BEGIN
    EXECUTE format('GRANT USAGE ON SEQUENCE %s TO todo_api_journal',
                   pg_get_serial_sequence('webhook_deliveries', 'id'));
END
$$;
CREATE POLICY journal_reads ON webhooks FOR SELECT TO todo_api_journal USING (true);
CREATE POLICY journal_queues ON webhook_deliveries FOR INSERT TO todo_api_journal
    WITH CHECK (true);

-- One journal entry (a user, a task, a change number): a delivery per enabled webhook of that
-- user taking the event, with the task's row as the change left it. The type: deleted; created (the entry's first number); completed
-- (the write set `completed_at` to its `updated_at`: a completion, or a repeating task's
-- occurrence completed, which keeps it pending); else updated.
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
