-- A shared list's own journal (issue 60 item 1; docs/ARCHITECTURE.md, "How (a) is to be built"):
-- each change of a task in a list that has members is recorded once in the list's scope,
-- numbered per list. `journal_changes` writes it beside the members' own entries until the
-- readers move to it (the plan's first step). The counter row is held to commit, so a list's
-- numbers are gap-free in commit order, as a user's are in `task_sync_cursors`.
CREATE TABLE list_journal_counters (
    list_id    BIGINT PRIMARY KEY REFERENCES task_lists (id) ON DELETE CASCADE,
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

-- Written by the journal's role only, as `task_changes` is; no reader yet. The tables' owner
-- (the role that migrates) keeps every row, as on every other table (docs/SECURITY.md).
ALTER TABLE list_journal_counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE list_journal_counters FORCE ROW LEVEL SECURITY;
ALTER TABLE list_task_changes ENABLE ROW LEVEL SECURITY;
ALTER TABLE list_task_changes FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE ON list_journal_counters, list_task_changes TO todo_api_journal;
CREATE POLICY journal_keeps ON list_journal_counters TO todo_api_journal USING (true) WITH CHECK (true);
CREATE POLICY journal_keeps ON list_task_changes TO todo_api_journal USING (true) WITH CHECK (true);
DO $$
BEGIN
    EXECUTE format('CREATE POLICY owner_maintenance ON list_journal_counters TO %I USING (true) WITH CHECK (true)',
                   current_user);
    EXECUTE format('CREATE POLICY owner_maintenance ON list_task_changes TO %I USING (true) WITH CHECK (true)',
                   current_user);
END
$$;
