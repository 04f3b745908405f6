-- Reminders (issue 43): when to remind a task's owner (and its assignee), and when the current
-- reminder fired (NULL while it is pending or when there is none). Firing is a maintenance job
-- of every instance (`tasks::reminders`): it claims due rows with FOR UPDATE SKIP LOCKED and
-- sets `reminded_at` in the transaction that records it, so each reminder fires once.
ALTER TABLE tasks ADD COLUMN remind_at timestamptz, ADD COLUMN reminded_at timestamptz;

-- The reminders waiting to fire, in the order they come due: a pending task's, not fired yet.
CREATE INDEX tasks_reminders_due ON tasks (remind_at)
    WHERE remind_at IS NOT NULL AND reminded_at IS NULL AND NOT completed;

-- Any writer (psql, another program) that moves a reminder re-arms it, as the server's own
-- writes do (they send `reminded_at` NULL with a new `remind_at`). The WHEN clause keeps the
-- function out of every other update.
CREATE FUNCTION tasks_rearm_reminder() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.reminded_at := NULL;
    RETURN NEW;
END
$$;
CREATE TRIGGER tasks_rearm_reminder BEFORE UPDATE ON tasks
    FOR EACH ROW
    WHEN (NEW.remind_at IS DISTINCT FROM OLD.remind_at AND NEW.reminded_at IS NOT NULL
          AND NEW.reminded_at IS NOT DISTINCT FROM OLD.reminded_at)
    EXECUTE FUNCTION tasks_rearm_reminder();
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION tasks_rearm_reminder() SET search_path = pg_catalog, %I, pg_temp',
                   current_schema());
END
$$;

-- The write functions take the row whole (000073): restate them with the new columns.
SELECT task_store_restate();
