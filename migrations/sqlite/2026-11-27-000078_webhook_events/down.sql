-- Back to a delivery per webhook queued by the triggers; events not fanned out yet are.
CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (lease_until)
    WHERE state = 'pending' AND lease_until IS NOT NULL;
ALTER TABLE webhooks DROP COLUMN lease_until;

DROP TRIGGER task_changes_webhooks_insert;
DROP TRIGGER task_changes_webhooks_update;
INSERT INTO webhook_deliveries (webhook_id, user_id, event_type, task_id, task_row,
                                next_attempt_at, created_at)
SELECT w.id, w.user_id, e.event_type, e.task_id, e.task_row, e.created_at, e.created_at
FROM webhook_events e
JOIN webhooks w ON w.user_id = e.user_id AND NOT w.disabled
 AND instr(',' || e.webhook_ids || ',', ',' || w.id || ',') > 0;
DROP TABLE webhook_events;

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
