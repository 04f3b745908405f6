DROP FUNCTION reminders_fire(timestamp, integer, text);
DROP TRIGGER tasks_rearm_reminder ON tasks;
DROP FUNCTION tasks_rearm_reminder();
DROP INDEX tasks_reminders_due;
ALTER TABLE tasks DROP COLUMN remind_at, DROP COLUMN reminded_at;
SELECT task_store_restate();
