-- Live events for every member on SQLite (issue 29). The journal triggers of 000040 and
-- 000063 number a change for each user it concerns (the owner, each member of the task's
-- list, a member who joins or leaves); PostgreSQL's NOTIFY then tells each of them, but
-- SQLite has no NOTIFY: the server delivers the events itself after the commit. To know
-- whose journals a write moved, and from where, the counters record it here: the first
-- change of a user's counter in a transaction keeps where it stood before (a counter
-- created by the change stood at 0); later changes in the same transaction keep that.
--
-- The server empties the table as each of its write transactions begins, and drains it at
-- the end of the same transaction (`DELETE … RETURNING`, `tasks::events::publish`), reading
-- each user's journal since `before_seq`. A writer other than the server (the sqlite3 shell,
-- a legacy backend) leaves a row per user it changed, which the server's next write forgets:
-- those changes reach clients at their next sync, as before. One row per user at most.
CREATE TABLE journal_touched (
    user_id    TEXT   PRIMARY KEY NOT NULL,
    before_seq BIGINT NOT NULL
) WITHOUT ROWID;

-- `WHERE NOT EXISTS` rather than `INSERT OR IGNORE`: in a trigger, OR IGNORE gives way to
-- the conflict policy of the statement that fired it (ABORT), and failed the write the
-- second time one statement moved the same counter (a task deleted with its subtasks).
CREATE TRIGGER task_sync_cursors_touched_insert AFTER INSERT ON task_sync_cursors
BEGIN
    INSERT INTO journal_touched (user_id, before_seq)
    SELECT NEW.user_id, 0
    WHERE NOT EXISTS (SELECT 1 FROM journal_touched WHERE user_id = NEW.user_id);
END;

CREATE TRIGGER task_sync_cursors_touched_update AFTER UPDATE OF last_seq ON task_sync_cursors
WHEN NEW.last_seq <> OLD.last_seq
BEGIN
    INSERT INTO journal_touched (user_id, before_seq)
    SELECT NEW.user_id, OLD.last_seq
    WHERE NOT EXISTS (SELECT 1 FROM journal_touched WHERE user_id = NEW.user_id);
END;

-- Versions: a change of `created_by` or `assignee_id` (000061's columns, which 000040's
-- `tasks_version` does not name) is a change too, as PostgreSQL's `bump_version` (which
-- compares whole rows) already counts it. A trigger of its own: when another column changed
-- as well, both set the same version (the old one + 1), and the second write of it moves
-- nothing, so the change is journaled once. A column added later goes here too.
CREATE TRIGGER tasks_version_people AFTER UPDATE ON tasks
WHEN NEW.version = OLD.version
     AND (NEW.created_by IS NOT OLD.created_by OR NEW.assignee_id IS NOT OLD.assignee_id)
BEGIN
    UPDATE tasks SET version = OLD.version + 1 WHERE id = NEW.id;
END;
