-- Same rules as migrations/postgres (see there), in SQLite's terms:
-- - No ALTER TABLE … ADD CONSTRAINT: a CHECK needs a rebuild of the table (and of every
--   trigger and index on it), so each rule is a BEFORE trigger that aborts with SQLite's own
--   CHECK message and the rule's name (`CHECK constraint failed: tasks_times_readable …`).
-- - A readable time is text `YYYY-MM-DD HH:MM…` that SQLite's date functions read, on a day
--   of the calendar (`2026-02-30` is refused: some SQLite versions read it as March 2nd) in
--   years 0001–9999. Text they read that chrono does not (`24:00:00`, a trailing space)
--   still passes: the read path leaves such a row out or answers its field as null, logged
--   (`tasks::stamp`).
-- - No deferrable constraints: a list's owner cannot change while it holds tasks (move them
--   out first, or delete and insert them again); the API never changes it.
-- - No way to disable a trigger for the clean-up: the membership triggers ignore a row of
--   the list's owner (for them nothing changes) and the member journal triggers never count
--   a task's owner as its list's member.

-- 2, first (each mending below is a journaled change): the members' journal triggers of
-- 000063, restated without the task's owner among its list's members.
DROP TRIGGER tasks_journal_members_insert;
DROP TRIGGER tasks_journal_members_update;
DROP TRIGGER tasks_journal_members_delete;
DROP TRIGGER list_members_journal_insert;
DROP TRIGGER list_members_journal_delete;
DROP TRIGGER list_members_unassign;
CREATE TRIGGER tasks_journal_members_insert AFTER INSERT ON tasks
WHEN NEW.list_id IS NOT NULL
BEGIN
    INSERT INTO task_sync_cursors (user_id, last_seq, pruned_seq)
    SELECT m.user_id, 1, 0 FROM list_members m
    WHERE m.list_id = NEW.list_id AND m.user_id IS NOT NEW.user_id
        ON CONFLICT (user_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO task_changes (user_id, task_id, seq, deleted, changed_at, created_seq)
    SELECT m.user_id, NEW.id, c.last_seq, 0, strftime('%Y-%m-%d %H:%M:%f', 'now'), c.last_seq
    FROM list_members m JOIN task_sync_cursors c ON c.user_id = m.user_id
    WHERE m.list_id = NEW.list_id AND m.user_id IS NOT NEW.user_id
        ON CONFLICT (user_id, task_id) DO UPDATE SET seq = excluded.seq, deleted = 0,
            changed_at = excluded.changed_at, created_seq = excluded.created_seq;
END;

CREATE TRIGGER tasks_journal_members_update AFTER UPDATE ON tasks
WHEN NEW.version IS NOT OLD.version
     AND (NEW.list_id IS NOT NULL OR OLD.list_id IS NOT NULL)
BEGIN
    -- Members of the list it is in now: a change (a creation if it just came in).
    INSERT INTO task_sync_cursors (user_id, last_seq, pruned_seq)
    SELECT m.user_id, 1, 0 FROM list_members m
    WHERE m.list_id = NEW.list_id AND m.user_id IS NOT NEW.user_id
        ON CONFLICT (user_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO task_changes (user_id, task_id, seq, deleted, changed_at, created_seq)
    SELECT m.user_id, NEW.id, c.last_seq, 0, strftime('%Y-%m-%d %H:%M:%f', 'now'),
           CASE WHEN NEW.list_id IS NOT OLD.list_id THEN c.last_seq END
    FROM list_members m JOIN task_sync_cursors c ON c.user_id = m.user_id
    WHERE m.list_id = NEW.list_id AND m.user_id IS NOT NEW.user_id
        ON CONFLICT (user_id, task_id) DO UPDATE SET seq = excluded.seq, deleted = 0,
            changed_at = excluded.changed_at,
            created_seq = coalesce(excluded.created_seq, task_changes.created_seq);
    -- Members of the list it left who do not see it any more: a deletion.
    INSERT INTO task_sync_cursors (user_id, last_seq, pruned_seq)
    SELECT m.user_id, 1, 0 FROM list_members m
    WHERE m.list_id = OLD.list_id AND NEW.list_id IS NOT OLD.list_id
      AND m.user_id IS NOT NEW.user_id
      AND NOT EXISTS (SELECT 1 FROM list_members k
                      WHERE k.list_id = NEW.list_id AND k.user_id = m.user_id)
        ON CONFLICT (user_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO task_changes (user_id, task_id, seq, deleted, changed_at, created_seq)
    SELECT m.user_id, OLD.id, c.last_seq, 1, strftime('%Y-%m-%d %H:%M:%f', 'now'), NULL
    FROM list_members m JOIN task_sync_cursors c ON c.user_id = m.user_id
    WHERE m.list_id = OLD.list_id AND NEW.list_id IS NOT OLD.list_id
      AND m.user_id IS NOT NEW.user_id
      AND NOT EXISTS (SELECT 1 FROM list_members k
                      WHERE k.list_id = NEW.list_id AND k.user_id = m.user_id)
        ON CONFLICT (user_id, task_id) DO UPDATE SET seq = excluded.seq, deleted = 1,
            changed_at = excluded.changed_at;
END;

CREATE TRIGGER tasks_journal_members_delete AFTER DELETE ON tasks
WHEN OLD.list_id IS NOT NULL
BEGIN
    INSERT INTO task_sync_cursors (user_id, last_seq, pruned_seq)
    SELECT m.user_id, 1, 0 FROM list_members m
    WHERE m.list_id = OLD.list_id AND m.user_id IS NOT OLD.user_id
        ON CONFLICT (user_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO task_changes (user_id, task_id, seq, deleted, changed_at, created_seq)
    SELECT m.user_id, OLD.id, c.last_seq, 1, strftime('%Y-%m-%d %H:%M:%f', 'now'), NULL
    FROM list_members m JOIN task_sync_cursors c ON c.user_id = m.user_id
    WHERE m.list_id = OLD.list_id AND m.user_id IS NOT OLD.user_id
        ON CONFLICT (user_id, task_id) DO UPDATE SET seq = excluded.seq, deleted = 1,
            changed_at = excluded.changed_at;
END;

-- A membership that begins: the list's tasks (in id order), then the list, as created.
CREATE TRIGGER list_members_journal_insert AFTER INSERT ON list_members
WHEN NOT EXISTS (SELECT 1 FROM task_lists l
                 WHERE l.id = NEW.list_id AND l.user_id = NEW.user_id)
BEGIN
    INSERT INTO task_sync_cursors (user_id, last_seq, pruned_seq) VALUES (NEW.user_id, 0, 0)
        ON CONFLICT (user_id) DO NOTHING;
    INSERT INTO task_changes (user_id, task_id, seq, deleted, changed_at, created_seq)
    SELECT NEW.user_id, t.id, c.last_seq + row_number() OVER (ORDER BY t.id), 0,
           strftime('%Y-%m-%d %H:%M:%f', 'now'), c.last_seq + row_number() OVER (ORDER BY t.id)
    FROM tasks t JOIN task_sync_cursors c ON c.user_id = NEW.user_id
    WHERE t.list_id = NEW.list_id
        ON CONFLICT (user_id, task_id) DO UPDATE SET seq = excluded.seq, deleted = 0,
            changed_at = excluded.changed_at, created_seq = excluded.created_seq;
    UPDATE task_sync_cursors
    SET last_seq = last_seq + (SELECT count(*) FROM tasks WHERE list_id = NEW.list_id) + 1
    WHERE user_id = NEW.user_id;
    INSERT INTO list_changes (user_id, list_id, seq, deleted, changed_at, created_seq)
    SELECT NEW.user_id, NEW.list_id, last_seq, 0, strftime('%Y-%m-%d %H:%M:%f', 'now'), last_seq
    FROM task_sync_cursors WHERE user_id = NEW.user_id
        ON CONFLICT (user_id, list_id) DO UPDATE SET seq = excluded.seq, deleted = 0,
            changed_at = excluded.changed_at, created_seq = excluded.created_seq;
END;

-- A membership that ends (removed, left, or the list deleted): deletions.
CREATE TRIGGER list_members_journal_delete AFTER DELETE ON list_members
WHEN NOT EXISTS (SELECT 1 FROM task_lists l
                 WHERE l.id = OLD.list_id AND l.user_id = OLD.user_id)
BEGIN
    INSERT INTO task_sync_cursors (user_id, last_seq, pruned_seq) VALUES (OLD.user_id, 0, 0)
        ON CONFLICT (user_id) DO NOTHING;
    INSERT INTO task_changes (user_id, task_id, seq, deleted, changed_at, created_seq)
    SELECT OLD.user_id, t.id, c.last_seq + row_number() OVER (ORDER BY t.id), 1,
           strftime('%Y-%m-%d %H:%M:%f', 'now'), NULL
    FROM tasks t JOIN task_sync_cursors c ON c.user_id = OLD.user_id
    WHERE t.list_id = OLD.list_id
        ON CONFLICT (user_id, task_id) DO UPDATE SET seq = excluded.seq, deleted = 1,
            changed_at = excluded.changed_at;
    UPDATE task_sync_cursors
    SET last_seq = last_seq + (SELECT count(*) FROM tasks WHERE list_id = OLD.list_id) + 1
    WHERE user_id = OLD.user_id;
    INSERT INTO list_changes (user_id, list_id, seq, deleted, changed_at, created_seq)
    SELECT OLD.user_id, OLD.list_id, last_seq, 1, strftime('%Y-%m-%d %H:%M:%f', 'now'), NULL
    FROM task_sync_cursors WHERE user_id = OLD.user_id
        ON CONFLICT (user_id, list_id) DO UPDATE SET seq = excluded.seq, deleted = 1,
            changed_at = excluded.changed_at;
END;


-- 000064's, ignoring a row of the list's owner (who stays the assignee of their tasks).
CREATE TRIGGER list_members_unassign AFTER DELETE ON list_members
WHEN NOT EXISTS (SELECT 1 FROM task_lists l
                 WHERE l.id = OLD.list_id AND l.user_id = OLD.user_id)
BEGIN
    UPDATE tasks SET assignee_id = NULL, version = version + 1,
                     updated_at = strftime('%Y-%m-%d %H:%M:%f', 'now')
    WHERE list_id = OLD.list_id AND assignee_id = OLD.user_id;
END;

-- The owner as a member: removed (the triggers above ignore them), then refused.
DELETE FROM list_members
WHERE EXISTS (SELECT 1 FROM task_lists l
              WHERE l.id = list_members.list_id AND l.user_id = list_members.user_id);

-- 3. Tasks in a list another user owns go back to their owner's inbox.
UPDATE tasks SET list_id = NULL
WHERE list_id IS NOT NULL
  AND user_id IS NOT (SELECT l.user_id FROM task_lists l WHERE l.id = tasks.list_id);

-- 1. Timestamps: mended (as on PostgreSQL; a column at a time, the required ones after
-- their fallback), then refused.
UPDATE tasks SET due_date = NULL
WHERE NOT (due_date IS NULL OR (typeof(due_date) = 'text'
        AND due_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(due_date, 1, 4) <> '0000' AND julianday(due_date) IS NOT NULL
        AND substr(due_date, 6, 2) BETWEEN '01' AND '12' AND substr(due_date, 9, 2) >= '01'
        AND substr(due_date, 9, 2) <= strftime('%d', substr(due_date, 1, 8) || '01', '+1 month', '-1 day')));
UPDATE tasks SET completed_at = NULL
WHERE NOT (completed_at IS NULL OR (typeof(completed_at) = 'text'
        AND completed_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(completed_at, 1, 4) <> '0000' AND julianday(completed_at) IS NOT NULL
        AND substr(completed_at, 6, 2) BETWEEN '01' AND '12' AND substr(completed_at, 9, 2) >= '01'
        AND substr(completed_at, 9, 2) <= strftime('%d', substr(completed_at, 1, 8) || '01', '+1 month', '-1 day')));
UPDATE tasks SET recurrence_start = NULL
WHERE NOT (recurrence_start IS NULL OR (typeof(recurrence_start) = 'text'
        AND recurrence_start GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(recurrence_start, 1, 4) <> '0000' AND julianday(recurrence_start) IS NOT NULL
        AND substr(recurrence_start, 6, 2) BETWEEN '01' AND '12' AND substr(recurrence_start, 9, 2) >= '01'
        AND substr(recurrence_start, 9, 2) <= strftime('%d', substr(recurrence_start, 1, 8) || '01', '+1 month', '-1 day')));
UPDATE tasks SET created_at = CASE WHEN (updated_at IS NULL OR (typeof(updated_at) = 'text'
        AND updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(updated_at, 1, 4) <> '0000' AND julianday(updated_at) IS NOT NULL
        AND substr(updated_at, 6, 2) BETWEEN '01' AND '12' AND substr(updated_at, 9, 2) >= '01'
        AND substr(updated_at, 9, 2) <= strftime('%d', substr(updated_at, 1, 8) || '01', '+1 month', '-1 day')))
    THEN updated_at ELSE strftime('%Y-%m-%d %H:%M:%f', 'now') END
WHERE NOT (created_at IS NULL OR (typeof(created_at) = 'text'
        AND created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(created_at, 1, 4) <> '0000' AND julianday(created_at) IS NOT NULL
        AND substr(created_at, 6, 2) BETWEEN '01' AND '12' AND substr(created_at, 9, 2) >= '01'
        AND substr(created_at, 9, 2) <= strftime('%d', substr(created_at, 1, 8) || '01', '+1 month', '-1 day')));
UPDATE tasks SET updated_at = CASE WHEN (created_at IS NULL OR (typeof(created_at) = 'text'
        AND created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(created_at, 1, 4) <> '0000' AND julianday(created_at) IS NOT NULL
        AND substr(created_at, 6, 2) BETWEEN '01' AND '12' AND substr(created_at, 9, 2) >= '01'
        AND substr(created_at, 9, 2) <= strftime('%d', substr(created_at, 1, 8) || '01', '+1 month', '-1 day')))
    THEN created_at ELSE strftime('%Y-%m-%d %H:%M:%f', 'now') END
WHERE NOT (updated_at IS NULL OR (typeof(updated_at) = 'text'
        AND updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(updated_at, 1, 4) <> '0000' AND julianday(updated_at) IS NOT NULL
        AND substr(updated_at, 6, 2) BETWEEN '01' AND '12' AND substr(updated_at, 9, 2) >= '01'
        AND substr(updated_at, 9, 2) <= strftime('%d', substr(updated_at, 1, 8) || '01', '+1 month', '-1 day')));
UPDATE task_lists SET created_at = CASE WHEN (updated_at IS NULL OR (typeof(updated_at) = 'text'
        AND updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(updated_at, 1, 4) <> '0000' AND julianday(updated_at) IS NOT NULL
        AND substr(updated_at, 6, 2) BETWEEN '01' AND '12' AND substr(updated_at, 9, 2) >= '01'
        AND substr(updated_at, 9, 2) <= strftime('%d', substr(updated_at, 1, 8) || '01', '+1 month', '-1 day')))
    THEN updated_at ELSE strftime('%Y-%m-%d %H:%M:%f', 'now') END
WHERE NOT (created_at IS NULL OR (typeof(created_at) = 'text'
        AND created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(created_at, 1, 4) <> '0000' AND julianday(created_at) IS NOT NULL
        AND substr(created_at, 6, 2) BETWEEN '01' AND '12' AND substr(created_at, 9, 2) >= '01'
        AND substr(created_at, 9, 2) <= strftime('%d', substr(created_at, 1, 8) || '01', '+1 month', '-1 day')));
UPDATE task_lists SET updated_at = CASE WHEN (created_at IS NULL OR (typeof(created_at) = 'text'
        AND created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(created_at, 1, 4) <> '0000' AND julianday(created_at) IS NOT NULL
        AND substr(created_at, 6, 2) BETWEEN '01' AND '12' AND substr(created_at, 9, 2) >= '01'
        AND substr(created_at, 9, 2) <= strftime('%d', substr(created_at, 1, 8) || '01', '+1 month', '-1 day')))
    THEN created_at ELSE strftime('%Y-%m-%d %H:%M:%f', 'now') END
WHERE NOT (updated_at IS NULL OR (typeof(updated_at) = 'text'
        AND updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(updated_at, 1, 4) <> '0000' AND julianday(updated_at) IS NOT NULL
        AND substr(updated_at, 6, 2) BETWEEN '01' AND '12' AND substr(updated_at, 9, 2) >= '01'
        AND substr(updated_at, 9, 2) <= strftime('%d', substr(updated_at, 1, 8) || '01', '+1 month', '-1 day')));
UPDATE task_tags SET changed_at = strftime('%Y-%m-%d %H:%M:%f', 'now')
WHERE NOT (changed_at IS NULL OR (typeof(changed_at) = 'text'
        AND changed_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(changed_at, 1, 4) <> '0000' AND julianday(changed_at) IS NOT NULL
        AND substr(changed_at, 6, 2) BETWEEN '01' AND '12' AND substr(changed_at, 9, 2) >= '01'
        AND substr(changed_at, 9, 2) <= strftime('%d', substr(changed_at, 1, 8) || '01', '+1 month', '-1 day')));
UPDATE list_members SET added_at = strftime('%Y-%m-%d %H:%M:%f', 'now')
WHERE NOT (added_at IS NULL OR (typeof(added_at) = 'text'
        AND added_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(added_at, 1, 4) <> '0000' AND julianday(added_at) IS NOT NULL
        AND substr(added_at, 6, 2) BETWEEN '01' AND '12' AND substr(added_at, 9, 2) >= '01'
        AND substr(added_at, 9, 2) <= strftime('%d', substr(added_at, 1, 8) || '01', '+1 month', '-1 day')));
UPDATE list_invites SET created_at = strftime('%Y-%m-%d %H:%M:%f', 'now')
WHERE NOT (created_at IS NULL OR (typeof(created_at) = 'text'
        AND created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(created_at, 1, 4) <> '0000' AND julianday(created_at) IS NOT NULL
        AND substr(created_at, 6, 2) BETWEEN '01' AND '12' AND substr(created_at, 9, 2) >= '01'
        AND substr(created_at, 9, 2) <= strftime('%d', substr(created_at, 1, 8) || '01', '+1 month', '-1 day')));
UPDATE list_invites SET expires_at = CASE WHEN (created_at IS NULL OR (typeof(created_at) = 'text'
        AND created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(created_at, 1, 4) <> '0000' AND julianday(created_at) IS NOT NULL
        AND substr(created_at, 6, 2) BETWEEN '01' AND '12' AND substr(created_at, 9, 2) >= '01'
        AND substr(created_at, 9, 2) <= strftime('%d', substr(created_at, 1, 8) || '01', '+1 month', '-1 day')))
    THEN created_at ELSE strftime('%Y-%m-%d %H:%M:%f', 'now') END
WHERE NOT (expires_at IS NULL OR (typeof(expires_at) = 'text'
        AND expires_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(expires_at, 1, 4) <> '0000' AND julianday(expires_at) IS NOT NULL
        AND substr(expires_at, 6, 2) BETWEEN '01' AND '12' AND substr(expires_at, 9, 2) >= '01'
        AND substr(expires_at, 9, 2) <= strftime('%d', substr(expires_at, 1, 8) || '01', '+1 month', '-1 day')));
CREATE TRIGGER tasks_times_readable_insert BEFORE INSERT ON tasks
WHEN NOT ((NEW.due_date IS NULL OR (typeof(NEW.due_date) = 'text'
        AND NEW.due_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(NEW.due_date, 1, 4) <> '0000' AND julianday(NEW.due_date) IS NOT NULL
        AND substr(NEW.due_date, 6, 2) BETWEEN '01' AND '12' AND substr(NEW.due_date, 9, 2) >= '01'
        AND substr(NEW.due_date, 9, 2) <= strftime('%d', substr(NEW.due_date, 1, 8) || '01', '+1 month', '-1 day')))
    AND (NEW.completed_at IS NULL OR (typeof(NEW.completed_at) = 'text'
        AND NEW.completed_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(NEW.completed_at, 1, 4) <> '0000' AND julianday(NEW.completed_at) IS NOT NULL
        AND substr(NEW.completed_at, 6, 2) BETWEEN '01' AND '12' AND substr(NEW.completed_at, 9, 2) >= '01'
        AND substr(NEW.completed_at, 9, 2) <= strftime('%d', substr(NEW.completed_at, 1, 8) || '01', '+1 month', '-1 day')))
    AND (NEW.recurrence_start IS NULL OR (typeof(NEW.recurrence_start) = 'text'
        AND NEW.recurrence_start GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(NEW.recurrence_start, 1, 4) <> '0000' AND julianday(NEW.recurrence_start) IS NOT NULL
        AND substr(NEW.recurrence_start, 6, 2) BETWEEN '01' AND '12' AND substr(NEW.recurrence_start, 9, 2) >= '01'
        AND substr(NEW.recurrence_start, 9, 2) <= strftime('%d', substr(NEW.recurrence_start, 1, 8) || '01', '+1 month', '-1 day')))
    AND (NEW.created_at IS NULL OR (typeof(NEW.created_at) = 'text'
        AND NEW.created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(NEW.created_at, 1, 4) <> '0000' AND julianday(NEW.created_at) IS NOT NULL
        AND substr(NEW.created_at, 6, 2) BETWEEN '01' AND '12' AND substr(NEW.created_at, 9, 2) >= '01'
        AND substr(NEW.created_at, 9, 2) <= strftime('%d', substr(NEW.created_at, 1, 8) || '01', '+1 month', '-1 day')))
    AND (NEW.updated_at IS NULL OR (typeof(NEW.updated_at) = 'text'
        AND NEW.updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(NEW.updated_at, 1, 4) <> '0000' AND julianday(NEW.updated_at) IS NOT NULL
        AND substr(NEW.updated_at, 6, 2) BETWEEN '01' AND '12' AND substr(NEW.updated_at, 9, 2) >= '01'
        AND substr(NEW.updated_at, 9, 2) <= strftime('%d', substr(NEW.updated_at, 1, 8) || '01', '+1 month', '-1 day'))))
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: tasks_times_readable (due_date, completed_at, recurrence_start, created_at, updated_at: each a time in years 0001-9999, YYYY-MM-DD HH:MM[:SS[.fff]][Z|+HH:MM])');
END;
CREATE TRIGGER tasks_times_readable_update BEFORE UPDATE OF due_date, completed_at, recurrence_start, created_at, updated_at ON tasks
WHEN NOT ((NEW.due_date IS NULL OR (typeof(NEW.due_date) = 'text'
        AND NEW.due_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(NEW.due_date, 1, 4) <> '0000' AND julianday(NEW.due_date) IS NOT NULL
        AND substr(NEW.due_date, 6, 2) BETWEEN '01' AND '12' AND substr(NEW.due_date, 9, 2) >= '01'
        AND substr(NEW.due_date, 9, 2) <= strftime('%d', substr(NEW.due_date, 1, 8) || '01', '+1 month', '-1 day')))
    AND (NEW.completed_at IS NULL OR (typeof(NEW.completed_at) = 'text'
        AND NEW.completed_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(NEW.completed_at, 1, 4) <> '0000' AND julianday(NEW.completed_at) IS NOT NULL
        AND substr(NEW.completed_at, 6, 2) BETWEEN '01' AND '12' AND substr(NEW.completed_at, 9, 2) >= '01'
        AND substr(NEW.completed_at, 9, 2) <= strftime('%d', substr(NEW.completed_at, 1, 8) || '01', '+1 month', '-1 day')))
    AND (NEW.recurrence_start IS NULL OR (typeof(NEW.recurrence_start) = 'text'
        AND NEW.recurrence_start GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(NEW.recurrence_start, 1, 4) <> '0000' AND julianday(NEW.recurrence_start) IS NOT NULL
        AND substr(NEW.recurrence_start, 6, 2) BETWEEN '01' AND '12' AND substr(NEW.recurrence_start, 9, 2) >= '01'
        AND substr(NEW.recurrence_start, 9, 2) <= strftime('%d', substr(NEW.recurrence_start, 1, 8) || '01', '+1 month', '-1 day')))
    AND (NEW.created_at IS NULL OR (typeof(NEW.created_at) = 'text'
        AND NEW.created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(NEW.created_at, 1, 4) <> '0000' AND julianday(NEW.created_at) IS NOT NULL
        AND substr(NEW.created_at, 6, 2) BETWEEN '01' AND '12' AND substr(NEW.created_at, 9, 2) >= '01'
        AND substr(NEW.created_at, 9, 2) <= strftime('%d', substr(NEW.created_at, 1, 8) || '01', '+1 month', '-1 day')))
    AND (NEW.updated_at IS NULL OR (typeof(NEW.updated_at) = 'text'
        AND NEW.updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(NEW.updated_at, 1, 4) <> '0000' AND julianday(NEW.updated_at) IS NOT NULL
        AND substr(NEW.updated_at, 6, 2) BETWEEN '01' AND '12' AND substr(NEW.updated_at, 9, 2) >= '01'
        AND substr(NEW.updated_at, 9, 2) <= strftime('%d', substr(NEW.updated_at, 1, 8) || '01', '+1 month', '-1 day'))))
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: tasks_times_readable (due_date, completed_at, recurrence_start, created_at, updated_at: each a time in years 0001-9999, YYYY-MM-DD HH:MM[:SS[.fff]][Z|+HH:MM])');
END;
CREATE TRIGGER task_lists_times_readable_insert BEFORE INSERT ON task_lists
WHEN NOT ((NEW.created_at IS NULL OR (typeof(NEW.created_at) = 'text'
        AND NEW.created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(NEW.created_at, 1, 4) <> '0000' AND julianday(NEW.created_at) IS NOT NULL
        AND substr(NEW.created_at, 6, 2) BETWEEN '01' AND '12' AND substr(NEW.created_at, 9, 2) >= '01'
        AND substr(NEW.created_at, 9, 2) <= strftime('%d', substr(NEW.created_at, 1, 8) || '01', '+1 month', '-1 day')))
    AND (NEW.updated_at IS NULL OR (typeof(NEW.updated_at) = 'text'
        AND NEW.updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(NEW.updated_at, 1, 4) <> '0000' AND julianday(NEW.updated_at) IS NOT NULL
        AND substr(NEW.updated_at, 6, 2) BETWEEN '01' AND '12' AND substr(NEW.updated_at, 9, 2) >= '01'
        AND substr(NEW.updated_at, 9, 2) <= strftime('%d', substr(NEW.updated_at, 1, 8) || '01', '+1 month', '-1 day'))))
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: task_lists_times_readable (created_at, updated_at: each a time in years 0001-9999, YYYY-MM-DD HH:MM[:SS[.fff]][Z|+HH:MM])');
END;
CREATE TRIGGER task_lists_times_readable_update BEFORE UPDATE OF created_at, updated_at ON task_lists
WHEN NOT ((NEW.created_at IS NULL OR (typeof(NEW.created_at) = 'text'
        AND NEW.created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(NEW.created_at, 1, 4) <> '0000' AND julianday(NEW.created_at) IS NOT NULL
        AND substr(NEW.created_at, 6, 2) BETWEEN '01' AND '12' AND substr(NEW.created_at, 9, 2) >= '01'
        AND substr(NEW.created_at, 9, 2) <= strftime('%d', substr(NEW.created_at, 1, 8) || '01', '+1 month', '-1 day')))
    AND (NEW.updated_at IS NULL OR (typeof(NEW.updated_at) = 'text'
        AND NEW.updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(NEW.updated_at, 1, 4) <> '0000' AND julianday(NEW.updated_at) IS NOT NULL
        AND substr(NEW.updated_at, 6, 2) BETWEEN '01' AND '12' AND substr(NEW.updated_at, 9, 2) >= '01'
        AND substr(NEW.updated_at, 9, 2) <= strftime('%d', substr(NEW.updated_at, 1, 8) || '01', '+1 month', '-1 day'))))
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: task_lists_times_readable (created_at, updated_at: each a time in years 0001-9999, YYYY-MM-DD HH:MM[:SS[.fff]][Z|+HH:MM])');
END;
CREATE TRIGGER task_tags_times_readable_insert BEFORE INSERT ON task_tags
WHEN NOT ((NEW.changed_at IS NULL OR (typeof(NEW.changed_at) = 'text'
        AND NEW.changed_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(NEW.changed_at, 1, 4) <> '0000' AND julianday(NEW.changed_at) IS NOT NULL
        AND substr(NEW.changed_at, 6, 2) BETWEEN '01' AND '12' AND substr(NEW.changed_at, 9, 2) >= '01'
        AND substr(NEW.changed_at, 9, 2) <= strftime('%d', substr(NEW.changed_at, 1, 8) || '01', '+1 month', '-1 day'))))
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: task_tags_times_readable (changed_at: each a time in years 0001-9999, YYYY-MM-DD HH:MM[:SS[.fff]][Z|+HH:MM])');
END;
CREATE TRIGGER task_tags_times_readable_update BEFORE UPDATE OF changed_at ON task_tags
WHEN NOT ((NEW.changed_at IS NULL OR (typeof(NEW.changed_at) = 'text'
        AND NEW.changed_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(NEW.changed_at, 1, 4) <> '0000' AND julianday(NEW.changed_at) IS NOT NULL
        AND substr(NEW.changed_at, 6, 2) BETWEEN '01' AND '12' AND substr(NEW.changed_at, 9, 2) >= '01'
        AND substr(NEW.changed_at, 9, 2) <= strftime('%d', substr(NEW.changed_at, 1, 8) || '01', '+1 month', '-1 day'))))
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: task_tags_times_readable (changed_at: each a time in years 0001-9999, YYYY-MM-DD HH:MM[:SS[.fff]][Z|+HH:MM])');
END;
CREATE TRIGGER list_members_times_readable_insert BEFORE INSERT ON list_members
WHEN NOT ((NEW.added_at IS NULL OR (typeof(NEW.added_at) = 'text'
        AND NEW.added_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(NEW.added_at, 1, 4) <> '0000' AND julianday(NEW.added_at) IS NOT NULL
        AND substr(NEW.added_at, 6, 2) BETWEEN '01' AND '12' AND substr(NEW.added_at, 9, 2) >= '01'
        AND substr(NEW.added_at, 9, 2) <= strftime('%d', substr(NEW.added_at, 1, 8) || '01', '+1 month', '-1 day'))))
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: list_members_times_readable (added_at: each a time in years 0001-9999, YYYY-MM-DD HH:MM[:SS[.fff]][Z|+HH:MM])');
END;
CREATE TRIGGER list_members_times_readable_update BEFORE UPDATE OF added_at ON list_members
WHEN NOT ((NEW.added_at IS NULL OR (typeof(NEW.added_at) = 'text'
        AND NEW.added_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(NEW.added_at, 1, 4) <> '0000' AND julianday(NEW.added_at) IS NOT NULL
        AND substr(NEW.added_at, 6, 2) BETWEEN '01' AND '12' AND substr(NEW.added_at, 9, 2) >= '01'
        AND substr(NEW.added_at, 9, 2) <= strftime('%d', substr(NEW.added_at, 1, 8) || '01', '+1 month', '-1 day'))))
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: list_members_times_readable (added_at: each a time in years 0001-9999, YYYY-MM-DD HH:MM[:SS[.fff]][Z|+HH:MM])');
END;
CREATE TRIGGER list_invites_times_readable_insert BEFORE INSERT ON list_invites
WHEN NOT ((NEW.created_at IS NULL OR (typeof(NEW.created_at) = 'text'
        AND NEW.created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(NEW.created_at, 1, 4) <> '0000' AND julianday(NEW.created_at) IS NOT NULL
        AND substr(NEW.created_at, 6, 2) BETWEEN '01' AND '12' AND substr(NEW.created_at, 9, 2) >= '01'
        AND substr(NEW.created_at, 9, 2) <= strftime('%d', substr(NEW.created_at, 1, 8) || '01', '+1 month', '-1 day')))
    AND (NEW.expires_at IS NULL OR (typeof(NEW.expires_at) = 'text'
        AND NEW.expires_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(NEW.expires_at, 1, 4) <> '0000' AND julianday(NEW.expires_at) IS NOT NULL
        AND substr(NEW.expires_at, 6, 2) BETWEEN '01' AND '12' AND substr(NEW.expires_at, 9, 2) >= '01'
        AND substr(NEW.expires_at, 9, 2) <= strftime('%d', substr(NEW.expires_at, 1, 8) || '01', '+1 month', '-1 day'))))
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: list_invites_times_readable (created_at, expires_at: each a time in years 0001-9999, YYYY-MM-DD HH:MM[:SS[.fff]][Z|+HH:MM])');
END;
CREATE TRIGGER list_invites_times_readable_update BEFORE UPDATE OF created_at, expires_at ON list_invites
WHEN NOT ((NEW.created_at IS NULL OR (typeof(NEW.created_at) = 'text'
        AND NEW.created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(NEW.created_at, 1, 4) <> '0000' AND julianday(NEW.created_at) IS NOT NULL
        AND substr(NEW.created_at, 6, 2) BETWEEN '01' AND '12' AND substr(NEW.created_at, 9, 2) >= '01'
        AND substr(NEW.created_at, 9, 2) <= strftime('%d', substr(NEW.created_at, 1, 8) || '01', '+1 month', '-1 day')))
    AND (NEW.expires_at IS NULL OR (typeof(NEW.expires_at) = 'text'
        AND NEW.expires_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(NEW.expires_at, 1, 4) <> '0000' AND julianday(NEW.expires_at) IS NOT NULL
        AND substr(NEW.expires_at, 6, 2) BETWEEN '01' AND '12' AND substr(NEW.expires_at, 9, 2) >= '01'
        AND substr(NEW.expires_at, 9, 2) <= strftime('%d', substr(NEW.expires_at, 1, 8) || '01', '+1 month', '-1 day'))))
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: list_invites_times_readable (created_at, expires_at: each a time in years 0001-9999, YYYY-MM-DD HH:MM[:SS[.fff]][Z|+HH:MM])');
END;

-- 2 and 3: the refusals.
CREATE TRIGGER list_members_not_owner_insert BEFORE INSERT ON list_members
WHEN EXISTS (SELECT 1 FROM task_lists l WHERE l.id = NEW.list_id AND l.user_id = NEW.user_id)
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: list_members_not_owner (a list''s owner cannot be its member)');
END;
CREATE TRIGGER list_members_not_owner_update BEFORE UPDATE OF list_id, user_id ON list_members
WHEN EXISTS (SELECT 1 FROM task_lists l WHERE l.id = NEW.list_id AND l.user_id = NEW.user_id)
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: list_members_not_owner (a list''s owner cannot be its member)');
END;
CREATE TRIGGER tasks_list_owner_insert BEFORE INSERT ON tasks
WHEN NEW.list_id IS NOT NULL
     AND EXISTS (SELECT 1 FROM task_lists l WHERE l.id = NEW.list_id AND l.user_id IS NOT NEW.user_id)
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: tasks_list_owner (a task in a list must be its list owner''s)');
END;
CREATE TRIGGER tasks_list_owner_update BEFORE UPDATE OF user_id, list_id ON tasks
WHEN NEW.list_id IS NOT NULL
     AND EXISTS (SELECT 1 FROM task_lists l WHERE l.id = NEW.list_id AND l.user_id IS NOT NEW.user_id)
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: tasks_list_owner (a task in a list must be its list owner''s)');
END;
CREATE TRIGGER task_lists_owner_fits BEFORE UPDATE OF user_id ON task_lists
WHEN NEW.user_id IS NOT OLD.user_id
     AND (EXISTS (SELECT 1 FROM tasks t WHERE t.list_id = NEW.id AND t.user_id IS NOT NEW.user_id)
          OR EXISTS (SELECT 1 FROM list_members m
                     WHERE m.list_id = NEW.id AND m.user_id = NEW.user_id))
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: task_lists_owner_fits (a list''s tasks are its owner''s, and its owner is not its member)');
END;
