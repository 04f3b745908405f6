-- Same column as migrations/postgres (see there for why a creation number rather than the
-- kind of the last change), in SQLite's dialect.
ALTER TABLE task_changes ADD COLUMN created_seq BIGINT;

UPDATE task_changes SET created_seq = seq
WHERE NOT deleted
  AND EXISTS (SELECT 1 FROM tasks
              WHERE tasks.id = task_changes.task_id AND tasks.updated_at = tasks.created_at);
