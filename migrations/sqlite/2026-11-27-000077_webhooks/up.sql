-- Webhooks (issue 43): the same tables as PostgreSQL's, and the same queueing from the journal
-- (a trigger on `task_changes`, which the journal's triggers write for every writer). A user
-- with no enabled webhook costs one probe of `webhooks_enabled` per journal entry.

CREATE TABLE webhooks (
    id              INTEGER   PRIMARY KEY AUTOINCREMENT,
    user_id         TEXT      NOT NULL,
    url             TEXT      NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    events          TEXT      NOT NULL,
    description     TEXT,
    secret          TEXT      NOT NULL,
    disabled        BOOLEAN   NOT NULL DEFAULT FALSE,
    disabled_reason TEXT,
    failing_since   TIMESTAMP,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX webhooks_user ON webhooks (user_id, id);
CREATE INDEX webhooks_enabled ON webhooks (user_id) WHERE NOT disabled;

CREATE TABLE webhook_deliveries (
    id              INTEGER   PRIMARY KEY AUTOINCREMENT,
    webhook_id      BIGINT    NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    user_id         TEXT      NOT NULL,
    event_type      TEXT      NOT NULL,
    task_id         BIGINT,
    task_row        TEXT,
    message_id      TEXT,
    body            TEXT,
    state           TEXT      NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'succeeded', 'failed', 'dropped')),
    attempts        INTEGER   NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_token     BIGINT,
    lease_until     TIMESTAMP,
    created_at      TIMESTAMP NOT NULL
);
-- By user, as every per-user table (its policies filter by it): the smallest such index,
-- since every write with webhooks inserts here.
CREATE INDEX webhook_deliveries_user ON webhook_deliveries (user_id);
-- In the claim's order (the oldest due first), so a claim reads its batch off the index.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id)
    WHERE state = 'pending';
-- The deliveries in flight (claimed, not recorded yet): what a claim must not take a second
-- of for the same webhook. Small (a few per instance), so a claim does not read the backlog.
CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (lease_until)
    WHERE state = 'pending' AND lease_until IS NOT NULL;
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, state);

CREATE TABLE webhook_attempts (
    id              INTEGER   PRIMARY KEY AUTOINCREMENT,
    delivery_id     BIGINT    NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    webhook_id      BIGINT    NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    user_id         TEXT      NOT NULL,
    message_id      TEXT      NOT NULL,
    event_type      TEXT      NOT NULL,
    attempt         INTEGER   NOT NULL,
    status_code     INTEGER,
    error           TEXT,
    duration_ms     BIGINT    NOT NULL,
    attempted_at    TIMESTAMP NOT NULL,
    next_attempt_at TIMESTAMP
);
CREATE INDEX webhook_attempts_user ON webhook_attempts (user_id, webhook_id, id);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id);

-- The type and the row as PostgreSQL's `webhook_enqueue` decides them (the row in the JSON
-- its `to_jsonb` writes: times RFC 3339; a plain field added to `tasks` must be added here). The WHEN clause is the probe: a
-- user without an enabled webhook gets nothing else.
CREATE TRIGGER task_changes_webhooks_insert AFTER INSERT ON task_changes
WHEN EXISTS (SELECT 1 FROM webhooks w WHERE w.user_id = NEW.user_id AND NOT w.disabled)
BEGIN
    INSERT INTO webhook_deliveries (webhook_id, user_id, event_type, task_id, task_row,
                                    next_attempt_at, created_at)
    SELECT w.id, w.user_id, e.t, NEW.task_id, e.r, strftime('%Y-%m-%d %H:%M:%f', 'now'),
           strftime('%Y-%m-%d %H:%M:%f', 'now')
    FROM webhooks w,
         (SELECT CASE
              WHEN NEW.deleted OR t.id IS NULL THEN 'task.deleted'
              WHEN NEW.created_seq = NEW.seq THEN 'task.created'
              WHEN t.completed_at = t.updated_at THEN 'task.completed'
              ELSE 'task.updated' END AS t,
              CASE WHEN NEW.deleted OR t.id IS NULL THEN NULL ELSE json_object(
               'id', t.id, 'user_id', t.user_id, 'title', t.title, 'description', t.description,
               'completed', json(CASE WHEN t.completed THEN 'true' ELSE 'false' END),
               'created_at', replace(t.created_at, ' ', 'T') || 'Z',
               'updated_at', replace(t.updated_at, ' ', 'T') || 'Z',
               'priority', t.priority, 'category', t.category,
               'due_date', replace(t.due_date, ' ', 'T') || 'Z',
               'completed_at', replace(t.completed_at, ' ', 'T') || 'Z',
               'version', t.version, 'list_id', t.list_id, 'parent_id', t.parent_id,
               'position', t.position, 'tags', t.tags, 'recurrence', t.recurrence,
               'time_zone', t.time_zone,
               'recurrence_start', replace(t.recurrence_start, ' ', 'T') || 'Z',
               'created_by', t.created_by, 'assignee_id', t.assignee_id,
               'remind_at', replace(t.remind_at, ' ', 'T') || 'Z',
               'reminded_at', replace(t.reminded_at, ' ', 'T') || 'Z') END AS r
          FROM (SELECT 1) LEFT JOIN tasks t ON t.id = NEW.task_id) e
    WHERE w.user_id = NEW.user_id AND NOT w.disabled
      AND instr(',' || w.events || ',', ',' || e.t || ',') > 0;
END;

CREATE TRIGGER task_changes_webhooks_update AFTER UPDATE ON task_changes
WHEN NEW.seq IS NOT OLD.seq
     AND EXISTS (SELECT 1 FROM webhooks w WHERE w.user_id = NEW.user_id AND NOT w.disabled)
BEGIN
    INSERT INTO webhook_deliveries (webhook_id, user_id, event_type, task_id, task_row,
                                    next_attempt_at, created_at)
    SELECT w.id, w.user_id, e.t, NEW.task_id, e.r, strftime('%Y-%m-%d %H:%M:%f', 'now'),
           strftime('%Y-%m-%d %H:%M:%f', 'now')
    FROM webhooks w,
         (SELECT CASE
              WHEN NEW.deleted OR t.id IS NULL THEN 'task.deleted'
              WHEN NEW.created_seq = NEW.seq THEN 'task.created'
              WHEN t.completed_at = t.updated_at THEN 'task.completed'
              ELSE 'task.updated' END AS t,
              CASE WHEN NEW.deleted OR t.id IS NULL THEN NULL ELSE json_object(
               'id', t.id, 'user_id', t.user_id, 'title', t.title, 'description', t.description,
               'completed', json(CASE WHEN t.completed THEN 'true' ELSE 'false' END),
               'created_at', replace(t.created_at, ' ', 'T') || 'Z',
               'updated_at', replace(t.updated_at, ' ', 'T') || 'Z',
               'priority', t.priority, 'category', t.category,
               'due_date', replace(t.due_date, ' ', 'T') || 'Z',
               'completed_at', replace(t.completed_at, ' ', 'T') || 'Z',
               'version', t.version, 'list_id', t.list_id, 'parent_id', t.parent_id,
               'position', t.position, 'tags', t.tags, 'recurrence', t.recurrence,
               'time_zone', t.time_zone,
               'recurrence_start', replace(t.recurrence_start, ' ', 'T') || 'Z',
               'created_by', t.created_by, 'assignee_id', t.assignee_id,
               'remind_at', replace(t.remind_at, ' ', 'T') || 'Z',
               'reminded_at', replace(t.reminded_at, ' ', 'T') || 'Z') END AS r
          FROM (SELECT 1) LEFT JOIN tasks t ON t.id = NEW.task_id) e
    WHERE w.user_id = NEW.user_id AND NOT w.disabled
      AND instr(',' || w.events || ',', ',' || e.t || ',') > 0;
END;
