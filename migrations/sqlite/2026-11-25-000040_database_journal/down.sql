DROP TRIGGER task_lists_journal_delete;
DROP TRIGGER task_lists_journal_update;
DROP TRIGGER task_lists_journal_insert;
DROP TRIGGER tasks_journal_delete;
DROP TRIGGER tasks_journal_update;
DROP TRIGGER tasks_journal_insert;
DROP TRIGGER task_lists_version;
DROP TRIGGER tasks_version;
DROP TABLE list_changes;
CREATE TABLE task_changes_by_task (
    task_id     INTEGER   PRIMARY KEY NOT NULL,
    user_id     TEXT      NOT NULL,
    seq         BIGINT    NOT NULL,
    deleted     BOOLEAN   NOT NULL,
    changed_at  TIMESTAMP NOT NULL,
    created_seq BIGINT
);
-- Reused ids may have several owners' entries: keep each id's newest.
INSERT INTO task_changes_by_task (task_id, user_id, seq, deleted, changed_at, created_seq)
SELECT task_id, user_id, seq, deleted, changed_at, created_seq FROM task_changes a
WHERE NOT EXISTS (SELECT 1 FROM task_changes b WHERE b.task_id = a.task_id AND b.seq > a.seq);
DROP TABLE task_changes;
ALTER TABLE task_changes_by_task RENAME TO task_changes;
CREATE INDEX task_changes_user_seq ON task_changes (user_id, seq);
