-- Same books as migrations/postgres (see there), kept by SQLite triggers, so a write by any
-- program (the sqlite3 shell, an import script) is journaled and versioned like the server's.
-- Differences, each for a reason of SQLite's:
-- - Row triggers only (SQLite has no statement triggers, and no NOTIFY: the server delivers
--   its own writes' events in-process after the commit; another program's changes reach live
--   clients at their next sync). `DELETE FROM tasks` (SQLite's TRUNCATE) fires them per row.
-- - Versions: an AFTER trigger cannot change NEW, and RETURNING shows the row before AFTER
--   triggers ran, so the server keeps writing `version + 1` itself; the trigger bumps the
--   version of a changed row whose writer left it alone, by one more UPDATE (recursive
--   triggers are off, so that UPDATE does not bump again; the journal trigger sees it).
-- - Only functions SQLite itself has: a trigger calling the server's own (`search_fold`)
--   would break every other program's writes ("no such function").
-- - No default position: SQLite cannot drop a column default without rebuilding `tasks`, so
--   a task inserted without one keeps '80' (first in its group; `docs/REALTIME.md`).
-- changed_at is written as diesel writes a timestamp here (text, UTC).

-- Journal entries keyed by owner and task (a rebuild: SQLite cannot change a primary key).
CREATE TABLE task_changes_by_owner (
    user_id     TEXT      NOT NULL,
    task_id     BIGINT    NOT NULL,
    seq         BIGINT    NOT NULL,
    deleted     BOOLEAN   NOT NULL,
    changed_at  TIMESTAMP NOT NULL,
    created_seq BIGINT,
    PRIMARY KEY (user_id, task_id)
);
INSERT INTO task_changes_by_owner (user_id, task_id, seq, deleted, changed_at, created_seq)
SELECT user_id, task_id, seq, deleted, changed_at, created_seq FROM task_changes;
DROP TABLE task_changes;
ALTER TABLE task_changes_by_owner RENAME TO task_changes;
CREATE INDEX task_changes_user_seq ON task_changes (user_id, seq);

CREATE TABLE list_changes (
    user_id     TEXT      NOT NULL,
    list_id     BIGINT    NOT NULL,
    seq         BIGINT    NOT NULL,
    deleted     BOOLEAN   NOT NULL,
    changed_at  TIMESTAMP NOT NULL,
    created_seq BIGINT,
    PRIMARY KEY (user_id, list_id)
);
CREATE INDEX list_changes_user_seq ON list_changes (user_id, seq);

INSERT OR IGNORE INTO task_sync_cursors (user_id, last_seq)
SELECT DISTINCT user_id, 0 FROM task_lists;
INSERT INTO list_changes (user_id, list_id, seq, deleted, changed_at, created_seq)
SELECT l.user_id, l.id, c.last_seq + row_number() OVER (PARTITION BY l.user_id ORDER BY l.id),
       0, l.updated_at, NULL
FROM task_lists l JOIN task_sync_cursors c ON c.user_id = l.user_id;
UPDATE task_sync_cursors SET last_seq = (
    SELECT max(seq) FROM list_changes WHERE list_changes.user_id = task_sync_cursors.user_id)
WHERE user_id IN (SELECT user_id FROM list_changes);

-- Versions: a changed row whose writer did not move its version gets one more.
CREATE TRIGGER tasks_version AFTER UPDATE ON tasks
WHEN NEW.version = OLD.version AND (
    NEW.id IS NOT OLD.id OR NEW.user_id IS NOT OLD.user_id OR NEW.title IS NOT OLD.title
    OR NEW.description IS NOT OLD.description OR NEW.completed IS NOT OLD.completed
    OR NEW.created_at IS NOT OLD.created_at OR NEW.updated_at IS NOT OLD.updated_at
    OR NEW.priority IS NOT OLD.priority OR NEW.category IS NOT OLD.category
    OR NEW.due_date IS NOT OLD.due_date OR NEW.completed_at IS NOT OLD.completed_at
    OR NEW.list_id IS NOT OLD.list_id OR NEW.parent_id IS NOT OLD.parent_id
    OR NEW.position IS NOT OLD.position OR NEW.tags IS NOT OLD.tags
    OR NEW.recurrence IS NOT OLD.recurrence OR NEW.time_zone IS NOT OLD.time_zone
    OR NEW.recurrence_start IS NOT OLD.recurrence_start
    OR NEW.title_key IS NOT OLD.title_key OR NEW.description_key IS NOT OLD.description_key)
BEGIN
    UPDATE tasks SET version = OLD.version + 1 WHERE id = NEW.id;
END;

CREATE TRIGGER task_lists_version AFTER UPDATE ON task_lists
WHEN NEW.version = OLD.version AND (
    NEW.id IS NOT OLD.id OR NEW.user_id IS NOT OLD.user_id OR NEW.name IS NOT OLD.name
    OR NEW.name_key IS NOT OLD.name_key OR NEW.color IS NOT OLD.color
    OR NEW.position IS NOT OLD.position OR NEW.created_at IS NOT OLD.created_at
    OR NEW.updated_at IS NOT OLD.updated_at)
BEGIN
    UPDATE task_lists SET version = OLD.version + 1 WHERE id = NEW.id;
END;

-- The journal: each change takes the owner's next number (one writer at a time: gap-free in
-- commit order) and becomes the row's last change; a reused id's tombstone becomes its
-- creation again. An UPDATE counts when the version moved (by the writer or the trigger
-- above); one that changed the owner or id is a deletion for the old and a creation for the
-- new.
CREATE TRIGGER tasks_journal_insert AFTER INSERT ON tasks
BEGIN
    INSERT INTO task_sync_cursors (user_id, last_seq, pruned_seq) VALUES (NEW.user_id, 1, 0)
        ON CONFLICT (user_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO task_changes (user_id, task_id, seq, deleted, changed_at, created_seq)
    SELECT NEW.user_id, NEW.id, last_seq, 0, strftime('%Y-%m-%d %H:%M:%f', 'now'), last_seq
    FROM task_sync_cursors WHERE user_id = NEW.user_id
        ON CONFLICT (user_id, task_id) DO UPDATE SET seq = excluded.seq, deleted = 0,
            changed_at = excluded.changed_at, created_seq = excluded.created_seq;
END;

CREATE TRIGGER tasks_journal_update AFTER UPDATE ON tasks
WHEN NEW.version IS NOT OLD.version
BEGIN
    INSERT INTO task_sync_cursors (user_id, last_seq, pruned_seq)
    SELECT OLD.user_id, 1, 0 WHERE NEW.user_id IS NOT OLD.user_id OR NEW.id IS NOT OLD.id
        ON CONFLICT (user_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO task_changes (user_id, task_id, seq, deleted, changed_at, created_seq)
    SELECT OLD.user_id, OLD.id, last_seq, 1, strftime('%Y-%m-%d %H:%M:%f', 'now'), NULL
    FROM task_sync_cursors
    WHERE user_id = OLD.user_id AND (NEW.user_id IS NOT OLD.user_id OR NEW.id IS NOT OLD.id)
        ON CONFLICT (user_id, task_id) DO UPDATE SET seq = excluded.seq, deleted = 1,
            changed_at = excluded.changed_at;
    INSERT INTO task_sync_cursors (user_id, last_seq, pruned_seq) VALUES (NEW.user_id, 1, 0)
        ON CONFLICT (user_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO task_changes (user_id, task_id, seq, deleted, changed_at, created_seq)
    SELECT NEW.user_id, NEW.id, last_seq, 0, strftime('%Y-%m-%d %H:%M:%f', 'now'),
           CASE WHEN NEW.user_id IS NOT OLD.user_id OR NEW.id IS NOT OLD.id THEN last_seq END
    FROM task_sync_cursors WHERE user_id = NEW.user_id
        ON CONFLICT (user_id, task_id) DO UPDATE SET seq = excluded.seq, deleted = 0,
            changed_at = excluded.changed_at,
            created_seq = coalesce(excluded.created_seq, task_changes.created_seq);
END;

CREATE TRIGGER tasks_journal_delete AFTER DELETE ON tasks
BEGIN
    INSERT INTO task_sync_cursors (user_id, last_seq, pruned_seq) VALUES (OLD.user_id, 1, 0)
        ON CONFLICT (user_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO task_changes (user_id, task_id, seq, deleted, changed_at, created_seq)
    SELECT OLD.user_id, OLD.id, last_seq, 1, strftime('%Y-%m-%d %H:%M:%f', 'now'), NULL
    FROM task_sync_cursors WHERE user_id = OLD.user_id
        ON CONFLICT (user_id, task_id) DO UPDATE SET seq = excluded.seq, deleted = 1,
            changed_at = excluded.changed_at;
END;

CREATE TRIGGER task_lists_journal_insert AFTER INSERT ON task_lists
BEGIN
    INSERT INTO task_sync_cursors (user_id, last_seq, pruned_seq) VALUES (NEW.user_id, 1, 0)
        ON CONFLICT (user_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO list_changes (user_id, list_id, seq, deleted, changed_at, created_seq)
    SELECT NEW.user_id, NEW.id, last_seq, 0, strftime('%Y-%m-%d %H:%M:%f', 'now'), last_seq
    FROM task_sync_cursors WHERE user_id = NEW.user_id
        ON CONFLICT (user_id, list_id) DO UPDATE SET seq = excluded.seq, deleted = 0,
            changed_at = excluded.changed_at, created_seq = excluded.created_seq;
END;

CREATE TRIGGER task_lists_journal_update AFTER UPDATE ON task_lists
WHEN NEW.version IS NOT OLD.version
BEGIN
    INSERT INTO task_sync_cursors (user_id, last_seq, pruned_seq)
    SELECT OLD.user_id, 1, 0 WHERE NEW.user_id IS NOT OLD.user_id OR NEW.id IS NOT OLD.id
        ON CONFLICT (user_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO list_changes (user_id, list_id, seq, deleted, changed_at, created_seq)
    SELECT OLD.user_id, OLD.id, last_seq, 1, strftime('%Y-%m-%d %H:%M:%f', 'now'), NULL
    FROM task_sync_cursors
    WHERE user_id = OLD.user_id AND (NEW.user_id IS NOT OLD.user_id OR NEW.id IS NOT OLD.id)
        ON CONFLICT (user_id, list_id) DO UPDATE SET seq = excluded.seq, deleted = 1,
            changed_at = excluded.changed_at;
    INSERT INTO task_sync_cursors (user_id, last_seq, pruned_seq) VALUES (NEW.user_id, 1, 0)
        ON CONFLICT (user_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO list_changes (user_id, list_id, seq, deleted, changed_at, created_seq)
    SELECT NEW.user_id, NEW.id, last_seq, 0, strftime('%Y-%m-%d %H:%M:%f', 'now'),
           CASE WHEN NEW.user_id IS NOT OLD.user_id OR NEW.id IS NOT OLD.id THEN last_seq END
    FROM task_sync_cursors WHERE user_id = NEW.user_id
        ON CONFLICT (user_id, list_id) DO UPDATE SET seq = excluded.seq, deleted = 0,
            changed_at = excluded.changed_at,
            created_seq = coalesce(excluded.created_seq, list_changes.created_seq);
END;

CREATE TRIGGER task_lists_journal_delete AFTER DELETE ON task_lists
BEGIN
    INSERT INTO task_sync_cursors (user_id, last_seq, pruned_seq) VALUES (OLD.user_id, 1, 0)
        ON CONFLICT (user_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO list_changes (user_id, list_id, seq, deleted, changed_at, created_seq)
    SELECT OLD.user_id, OLD.id, last_seq, 1, strftime('%Y-%m-%d %H:%M:%f', 'now'), NULL
    FROM task_sync_cursors WHERE user_id = OLD.user_id
        ON CONFLICT (user_id, list_id) DO UPDATE SET seq = excluded.seq, deleted = 1,
            changed_at = excluded.changed_at;
END;
