-- Tags (issue 21): `tasks.tags` (a JSON array of names, in the order given) is what a task
-- shows; this table indexes it, one row per tag of a task, for what the JSON cannot serve:
-- the `tag` / `any_tag` filters, the per-user counts (`GET /tags`), rename and delete across
-- a user's tasks, and the per-user cap on distinct names. The application rewrites a task's
-- rows in the same transaction as every write of its `tags`.
--
-- `tag_key` is the trimmed name lower-cased by the application (Rust's `to_lowercase`, the
-- same on both backends): tags are unique per task case-insensitively (the primary key).
-- `name` is the spelling on that task, `changed_at` when that task's tags were last written
-- (the counts show each tag as most recently spelled).
--
-- Unlike the tasks' own foreign keys, this one cascades: these rows are derived data with no
-- tombstone or event of their own, so whichever path deletes a task (one, the completed, a
-- list's, a parent's subtasks) takes them with it and no path can forget them.
CREATE TABLE task_tags (
    user_id    TEXT        NOT NULL,
    task_id    BIGINT      NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    tag_key    TEXT        NOT NULL,
    name       TEXT        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 50),
    changed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (task_id, tag_key)
);
-- The filters, counts, rename and delete all start from one user's key.
CREATE INDEX task_tags_user_key ON task_tags (user_id, tag_key);

-- Row security on the new per-user table, as on every other (000010, 000021).
GRANT SELECT, INSERT, UPDATE, DELETE ON task_tags TO todo_api_app;
ALTER TABLE task_tags ENABLE ROW LEVEL SECURITY;
ALTER TABLE task_tags FORCE ROW LEVEL SECURITY;
CREATE POLICY viewer_select ON task_tags FOR SELECT
    USING (user_id = NULLIF(current_setting('app.user_id', true), ''));
CREATE POLICY viewer_insert ON task_tags FOR INSERT
    WITH CHECK (user_id = NULLIF(current_setting('app.user_id', true), ''));
CREATE POLICY viewer_update ON task_tags FOR UPDATE
    USING (user_id = NULLIF(current_setting('app.user_id', true), ''))
    WITH CHECK (user_id = NULLIF(current_setting('app.user_id', true), ''));
CREATE POLICY viewer_delete ON task_tags FOR DELETE
    USING (user_id = NULLIF(current_setting('app.user_id', true), ''));
DO $$
BEGIN
    EXECUTE format('CREATE POLICY owner_maintenance ON task_tags TO %I USING (true) WITH CHECK (true)',
                   current_user);
END
$$;
