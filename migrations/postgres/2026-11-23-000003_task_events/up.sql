-- Incremental sync and realtime events.
--
-- Each user has a change counter. Every task change takes the next number in the same
-- transaction as the change, by an upsert on the user's counter row: that row stays locked
-- until commit, so one user's changes commit in number order and a reader that sees
-- `last_seq = N` has seen every change up to N (no gaps from transactions that commit late).
-- `pruned_seq` is the newest change whose tombstone was dropped: an older cursor cannot be
-- answered exactly any more (410 CURSOR_EXPIRED).
CREATE TABLE task_sync_cursors (
    user_id    TEXT   PRIMARY KEY,
    last_seq   BIGINT NOT NULL,
    pruned_seq BIGINT NOT NULL DEFAULT 0
);

-- The last change of each task (no foreign key: a deleted task keeps its row as a tombstone
-- until the retention time has passed).
CREATE TABLE task_changes (
    task_id    BIGINT      PRIMARY KEY,
    user_id    TEXT        NOT NULL,
    seq        BIGINT      NOT NULL,
    deleted    BOOLEAN     NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL
);

-- "What changed for this user after cursor N" is one range scan.
CREATE INDEX task_changes_user_seq ON task_changes (user_id, seq);

-- Tasks from before this migration count as changed once, in id order.
INSERT INTO task_changes (task_id, user_id, seq, deleted, changed_at)
SELECT id, user_id, row_number() OVER (PARTITION BY user_id ORDER BY id), FALSE, updated_at
FROM tasks;
INSERT INTO task_sync_cursors (user_id, last_seq)
SELECT user_id, max(seq) FROM task_changes GROUP BY user_id;
