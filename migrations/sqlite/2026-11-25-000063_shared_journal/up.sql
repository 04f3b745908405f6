-- Same books as migrations/postgres (see there), kept by SQLite's row triggers: a change to
-- a task in a shared list is journaled for each member of its list too, numbered by the
-- member's own counter; a membership that begins or ends gives the member the list and its
-- tasks as created or deleted. (The server delivers the members' events in-process after
-- the commit, read back from their journals.)
CREATE TRIGGER tasks_journal_members_insert AFTER INSERT ON tasks
WHEN NEW.list_id IS NOT NULL
BEGIN
    INSERT INTO task_sync_cursors (user_id, last_seq, pruned_seq)
    SELECT m.user_id, 1, 0 FROM list_members m WHERE m.list_id = NEW.list_id
        ON CONFLICT (user_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO task_changes (user_id, task_id, seq, deleted, changed_at, created_seq)
    SELECT m.user_id, NEW.id, c.last_seq, 0, strftime('%Y-%m-%d %H:%M:%f', 'now'), c.last_seq
    FROM list_members m JOIN task_sync_cursors c ON c.user_id = m.user_id
    WHERE m.list_id = NEW.list_id
        ON CONFLICT (user_id, task_id) DO UPDATE SET seq = excluded.seq, deleted = 0,
            changed_at = excluded.changed_at, created_seq = excluded.created_seq;
END;

CREATE TRIGGER tasks_journal_members_update AFTER UPDATE ON tasks
WHEN NEW.version IS NOT OLD.version
     AND (NEW.list_id IS NOT NULL OR OLD.list_id IS NOT NULL)
BEGIN
    -- Members of the list it is in now: a change (a creation if it just came in).
    INSERT INTO task_sync_cursors (user_id, last_seq, pruned_seq)
    SELECT m.user_id, 1, 0 FROM list_members m WHERE m.list_id = NEW.list_id
        ON CONFLICT (user_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO task_changes (user_id, task_id, seq, deleted, changed_at, created_seq)
    SELECT m.user_id, NEW.id, c.last_seq, 0, strftime('%Y-%m-%d %H:%M:%f', 'now'),
           CASE WHEN NEW.list_id IS NOT OLD.list_id THEN c.last_seq END
    FROM list_members m JOIN task_sync_cursors c ON c.user_id = m.user_id
    WHERE m.list_id = NEW.list_id
        ON CONFLICT (user_id, task_id) DO UPDATE SET seq = excluded.seq, deleted = 0,
            changed_at = excluded.changed_at,
            created_seq = coalesce(excluded.created_seq, task_changes.created_seq);
    -- Members of the list it left who do not see it any more: a deletion.
    INSERT INTO task_sync_cursors (user_id, last_seq, pruned_seq)
    SELECT m.user_id, 1, 0 FROM list_members m
    WHERE m.list_id = OLD.list_id AND NEW.list_id IS NOT OLD.list_id
      AND NOT EXISTS (SELECT 1 FROM list_members k
                      WHERE k.list_id = NEW.list_id AND k.user_id = m.user_id)
        ON CONFLICT (user_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO task_changes (user_id, task_id, seq, deleted, changed_at, created_seq)
    SELECT m.user_id, OLD.id, c.last_seq, 1, strftime('%Y-%m-%d %H:%M:%f', 'now'), NULL
    FROM list_members m JOIN task_sync_cursors c ON c.user_id = m.user_id
    WHERE m.list_id = OLD.list_id AND NEW.list_id IS NOT OLD.list_id
      AND NOT EXISTS (SELECT 1 FROM list_members k
                      WHERE k.list_id = NEW.list_id AND k.user_id = m.user_id)
        ON CONFLICT (user_id, task_id) DO UPDATE SET seq = excluded.seq, deleted = 1,
            changed_at = excluded.changed_at;
END;

CREATE TRIGGER tasks_journal_members_delete AFTER DELETE ON tasks
WHEN OLD.list_id IS NOT NULL
BEGIN
    INSERT INTO task_sync_cursors (user_id, last_seq, pruned_seq)
    SELECT m.user_id, 1, 0 FROM list_members m WHERE m.list_id = OLD.list_id
        ON CONFLICT (user_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO task_changes (user_id, task_id, seq, deleted, changed_at, created_seq)
    SELECT m.user_id, OLD.id, c.last_seq, 1, strftime('%Y-%m-%d %H:%M:%f', 'now'), NULL
    FROM list_members m JOIN task_sync_cursors c ON c.user_id = m.user_id
    WHERE m.list_id = OLD.list_id
        ON CONFLICT (user_id, task_id) DO UPDATE SET seq = excluded.seq, deleted = 1,
            changed_at = excluded.changed_at;
END;

-- A membership that begins: the list's tasks (in id order), then the list, as created.
CREATE TRIGGER list_members_journal_insert AFTER INSERT ON list_members
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
