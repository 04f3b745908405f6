-- The kind of each recorded change, for replay (sync and SSE `Last-Event-ID` resume).
--
-- task_changes keeps one row per task, its last change, so "the kind of the last change"
-- would say UPDATED for a task created and then updated while a client was away, and that
-- client does not have the task yet. What replay needs is the number of the change that
-- created the task: a task created after the client's cursor is CREATED (with its latest
-- state), an older one UPDATED, a tombstone DELETED. Set when the task is created and never
-- changed after; NULL for a task whose creation was not recorded (replayed as UPDATED).
ALTER TABLE task_changes ADD COLUMN created_seq BIGINT;

-- Rows written before this migration: a task never changed since it was created
-- (`updated_at = created_at`) was created by its recorded change.
UPDATE task_changes SET created_seq = seq
WHERE NOT deleted
  AND EXISTS (SELECT 1 FROM tasks
              WHERE tasks.id = task_changes.task_id AND tasks.updated_at = tasks.created_at);
