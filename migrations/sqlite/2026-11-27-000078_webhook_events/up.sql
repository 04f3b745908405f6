-- Webhooks queue one row per change, not one per webhook (as PostgreSQL's 000078): the
-- journal's triggers write one `webhook_events` row for a change a user's webhooks take, and
-- the delivery worker fans it out in batches to the webhooks it names (those taking it at the
-- change).

CREATE TABLE webhook_events (
    id         INTEGER   PRIMARY KEY AUTOINCREMENT,
    user_id    TEXT      NOT NULL,
    event_type TEXT      NOT NULL,
    task_id    BIGINT    NOT NULL,
    -- Its recipients: the ids of the webhooks taking it at the change, comma-separated.
    webhook_ids TEXT     NOT NULL,
    task_row   TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_events_user ON webhook_events (user_id);

DROP TRIGGER task_changes_webhooks_insert;
DROP TRIGGER task_changes_webhooks_update;

-- The type and the row as PostgreSQL's `webhook_enqueue` decides them (the row in the JSON
-- its `to_jsonb` writes: times RFC 3339; a plain field added to `tasks` must be added here).
-- The WHEN clause is the probe: a user without an enabled webhook gets nothing else.
CREATE TRIGGER task_changes_webhooks_insert AFTER INSERT ON task_changes
WHEN EXISTS (SELECT 1 FROM webhooks w WHERE w.user_id = NEW.user_id AND NOT w.disabled)
BEGIN
    INSERT INTO webhook_events (user_id, event_type, task_id, webhook_ids, task_row, created_at)
    SELECT NEW.user_id, e.t, NEW.task_id, e.ids, e.r, strftime('%Y-%m-%d %H:%M:%f', 'now')
    FROM (SELECT (SELECT group_concat(w.id, ',') FROM webhooks w
                  WHERE w.user_id = NEW.user_id AND NOT w.disabled
                    AND instr(',' || w.events || ',', ',' || x.t || ',') > 0) AS ids, x.t, x.r
          FROM (SELECT CASE
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
          FROM (SELECT 1) LEFT JOIN tasks t ON t.id = NEW.task_id) x) e
    WHERE e.ids IS NOT NULL;
END;

CREATE TRIGGER task_changes_webhooks_update AFTER UPDATE ON task_changes
WHEN NEW.seq IS NOT OLD.seq
     AND EXISTS (SELECT 1 FROM webhooks w WHERE w.user_id = NEW.user_id AND NOT w.disabled)
BEGIN
    INSERT INTO webhook_events (user_id, event_type, task_id, webhook_ids, task_row, created_at)
    SELECT NEW.user_id, e.t, NEW.task_id, e.ids, e.r, strftime('%Y-%m-%d %H:%M:%f', 'now')
    FROM (SELECT (SELECT group_concat(w.id, ',') FROM webhooks w
                  WHERE w.user_id = NEW.user_id AND NOT w.disabled
                    AND instr(',' || w.events || ',', ',' || x.t || ',') > 0) AS ids, x.t, x.r
          FROM (SELECT CASE
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
          FROM (SELECT 1) LEFT JOIN tasks t ON t.id = NEW.task_id) x) e
    WHERE e.ids IS NOT NULL;
END;

-- A webhook with a delivery in flight is leased itself (until when), so a claim skips it by
-- reading the webhook it joins anyway: the deliveries' partial index of leases it replaces
-- kept an entry for every claim ever made until a vacuum, and a claim read them all (140
-- deliveries a second after a burst, measured; see benches/README.md).
ALTER TABLE webhooks ADD COLUMN lease_until TIMESTAMP;
DROP INDEX webhook_deliveries_leased;
