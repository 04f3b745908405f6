-- A shared list's own journal (issue 60 item 1; docs/ARCHITECTURE.md, "How (a) is to be built"):
-- each change of a task in a list that has members is recorded once in the list's scope,
-- numbered per list, beside the members' own entries until the readers move to it (the plan's
-- first step). The same as PostgreSQL's `journal_changes` writes, row by row.
CREATE TABLE list_journal_counters (
    list_id    BIGINT PRIMARY KEY NOT NULL REFERENCES task_lists (id) ON DELETE CASCADE,
    last_seq   BIGINT NOT NULL,
    pruned_seq BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE list_task_changes (
    list_id     BIGINT    NOT NULL REFERENCES task_lists (id) ON DELETE CASCADE,
    task_id     BIGINT    NOT NULL,
    seq         BIGINT    NOT NULL,
    deleted     BOOLEAN   NOT NULL,
    changed_at  TIMESTAMP NOT NULL,
    created_seq BIGINT,
    PRIMARY KEY (list_id, task_id)
);
CREATE INDEX list_task_changes_seq ON list_task_changes (list_id, seq);

-- A task written into a shared list: a creation in the list's scope.
CREATE TRIGGER tasks_journal_list_insert AFTER INSERT ON tasks
WHEN NEW.list_id IS NOT NULL
     AND EXISTS (SELECT 1 FROM list_members m WHERE m.list_id = NEW.list_id)
BEGIN
    INSERT INTO list_journal_counters (list_id, last_seq, pruned_seq) VALUES (NEW.list_id, 1, 0)
        ON CONFLICT (list_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO list_task_changes (list_id, task_id, seq, deleted, changed_at, created_seq)
    SELECT NEW.list_id, NEW.id, c.last_seq, 0, strftime('%Y-%m-%d %H:%M:%f', 'now'), c.last_seq
    FROM list_journal_counters c WHERE c.list_id = NEW.list_id
        ON CONFLICT (list_id, task_id) DO UPDATE SET seq = excluded.seq, deleted = 0,
            changed_at = excluded.changed_at, created_seq = excluded.created_seq;
END;

-- A task changed: a change in its shared list's scope (a creation if it just came in), and a
-- tombstone in the shared list it left.
CREATE TRIGGER tasks_journal_list_update AFTER UPDATE ON tasks
WHEN NEW.version IS NOT OLD.version
     AND (NEW.list_id IS NOT NULL OR OLD.list_id IS NOT NULL)
BEGIN
    INSERT INTO list_journal_counters (list_id, last_seq, pruned_seq)
    SELECT NEW.list_id, 1, 0
    WHERE EXISTS (SELECT 1 FROM list_members m WHERE m.list_id = NEW.list_id)
        ON CONFLICT (list_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO list_task_changes (list_id, task_id, seq, deleted, changed_at, created_seq)
    SELECT NEW.list_id, NEW.id, c.last_seq, 0, strftime('%Y-%m-%d %H:%M:%f', 'now'),
           CASE WHEN NEW.list_id IS NOT OLD.list_id THEN c.last_seq END
    FROM list_journal_counters c
    WHERE c.list_id = NEW.list_id
      AND EXISTS (SELECT 1 FROM list_members m WHERE m.list_id = NEW.list_id)
        ON CONFLICT (list_id, task_id) DO UPDATE SET seq = excluded.seq, deleted = 0,
            changed_at = excluded.changed_at,
            created_seq = coalesce(excluded.created_seq, list_task_changes.created_seq);
    INSERT INTO list_journal_counters (list_id, last_seq, pruned_seq)
    SELECT OLD.list_id, 1, 0
    WHERE NEW.list_id IS NOT OLD.list_id
      AND EXISTS (SELECT 1 FROM list_members m WHERE m.list_id = OLD.list_id)
        ON CONFLICT (list_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO list_task_changes (list_id, task_id, seq, deleted, changed_at, created_seq)
    SELECT OLD.list_id, OLD.id, c.last_seq, 1, strftime('%Y-%m-%d %H:%M:%f', 'now'), NULL
    FROM list_journal_counters c
    WHERE c.list_id = OLD.list_id AND NEW.list_id IS NOT OLD.list_id
      AND EXISTS (SELECT 1 FROM list_members m WHERE m.list_id = OLD.list_id)
        ON CONFLICT (list_id, task_id) DO UPDATE SET seq = excluded.seq, deleted = 1,
            changed_at = excluded.changed_at;
END;

-- A task of a shared list deleted: a tombstone in the list's scope.
CREATE TRIGGER tasks_journal_list_delete AFTER DELETE ON tasks
WHEN OLD.list_id IS NOT NULL
     AND EXISTS (SELECT 1 FROM list_members m WHERE m.list_id = OLD.list_id)
BEGIN
    INSERT INTO list_journal_counters (list_id, last_seq, pruned_seq) VALUES (OLD.list_id, 1, 0)
        ON CONFLICT (list_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO list_task_changes (list_id, task_id, seq, deleted, changed_at, created_seq)
    SELECT OLD.list_id, OLD.id, c.last_seq, 1, strftime('%Y-%m-%d %H:%M:%f', 'now'), NULL
    FROM list_journal_counters c WHERE c.list_id = OLD.list_id
        ON CONFLICT (list_id, task_id) DO UPDATE SET seq = excluded.seq, deleted = 1,
            changed_at = excluded.changed_at;
END;
