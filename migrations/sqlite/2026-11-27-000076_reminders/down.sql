DROP TRIGGER tasks_version_reminders;
DROP INDEX tasks_reminders_due;
ALTER TABLE tasks DROP COLUMN reminded_at;
ALTER TABLE tasks DROP COLUMN remind_at;
