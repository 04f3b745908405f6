-- Same tables as migrations/postgres, in SQLite's dialect. SQLite has one writer at a time, so
-- the per-user counter is gap-free in commit order without any lock of ours.
CREATE TABLE task_sync_cursors (
    user_id    TEXT    PRIMARY KEY NOT NULL,
    last_seq   BIGINT  NOT NULL,
    pruned_seq BIGINT  NOT NULL DEFAULT 0
);

CREATE TABLE task_changes (
    task_id    INTEGER   PRIMARY KEY NOT NULL,
    user_id    TEXT      NOT NULL,
    seq        BIGINT    NOT NULL,
    deleted    BOOLEAN   NOT NULL,
    changed_at TIMESTAMP NOT NULL
);

CREATE INDEX task_changes_user_seq ON task_changes (user_id, seq);

INSERT INTO task_changes (task_id, user_id, seq, deleted, changed_at)
SELECT id, user_id, row_number() OVER (PARTITION BY user_id ORDER BY id), 0, updated_at
FROM tasks;
INSERT INTO task_sync_cursors (user_id, last_seq)
SELECT user_id, max(seq) FROM task_changes GROUP BY user_id;
