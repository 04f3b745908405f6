-- Reminders (issue 43): when to remind a task's owner (and its assignee), and when the current
-- reminder fired (NULL while it is pending or when there is none). The server's writes clear
-- `reminded_at` with every new `remind_at` (re-arming it); SQLite has one instance, whose
-- reminder job fires each due reminder once (`tasks::reminders`).
ALTER TABLE tasks ADD COLUMN remind_at TIMESTAMP;
ALTER TABLE tasks ADD COLUMN reminded_at TIMESTAMP;

-- The reminders waiting to fire, in the order they come due: a pending task's, not fired yet.
CREATE INDEX tasks_reminders_due ON tasks (remind_at)
    WHERE remind_at IS NOT NULL AND reminded_at IS NULL AND completed = 0;

-- A change of only these columns (another program's) is a change too, as PostgreSQL's
-- `bump_version` (which compares whole rows) counts it: `tasks_version` does not name them.
-- When another column changed as well, both set the same version (the old one + 1).
CREATE TRIGGER tasks_version_reminders AFTER UPDATE ON tasks
WHEN NEW.version = OLD.version
     AND (NEW.remind_at IS NOT OLD.remind_at OR NEW.reminded_at IS NOT OLD.reminded_at)
BEGIN
    UPDATE tasks SET version = OLD.version + 1 WHERE id = NEW.id;
END;
