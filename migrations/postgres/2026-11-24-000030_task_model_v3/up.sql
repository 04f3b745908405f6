-- Task model v3 (issue 21): lists, manual order, subtasks, tags and repeating tasks.
--
-- Lists: a user's named groups of tasks, with their own manual order. `name_key` is the name
-- lower-cased by the application (Rust's `to_lowercase`, as on SQLite), so "Work" and "work"
-- are one name per user (the unique index; a duplicate is a 409).
CREATE TABLE task_lists (
    id         BIGSERIAL   PRIMARY KEY,
    user_id    TEXT        NOT NULL,
    name       TEXT        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    name_key   TEXT        NOT NULL,
    color      TEXT        CHECK (color IN ('red', 'orange', 'yellow', 'green', 'teal', 'blue', 'purple', 'pink', 'gray')),
    -- A fractional index (the `fractional_index` crate's hex form): byte order is list order.
    position   TEXT        COLLATE "C" NOT NULL,
    version    BIGINT      NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX task_lists_user_name ON task_lists (user_id, name_key);
CREATE INDEX task_lists_user_position ON task_lists (user_id, position, id);

-- Tasks gain: their list (NULL = the inbox), their parent (NULL = top level), their place
-- among their siblings (same list and parent), their tags (a JSON array of names, in the
-- order given), and a recurrence (an RRULE in `time_zone`, counted from `recurrence_start`,
-- the due date the series began with). The foreign keys never cascade: the application
-- deletes or moves a list's tasks and a parent's subtasks itself, each with its tombstone or
-- change and its event.
ALTER TABLE tasks
    ADD COLUMN list_id          BIGINT REFERENCES task_lists (id),
    ADD COLUMN parent_id        BIGINT REFERENCES tasks (id),
    ADD COLUMN position         TEXT COLLATE "C" NOT NULL DEFAULT '80',
    ADD COLUMN tags             TEXT NOT NULL DEFAULT '[]',
    ADD COLUMN recurrence       TEXT,
    ADD COLUMN time_zone        TEXT NOT NULL DEFAULT 'UTC',
    ADD COLUMN recurrence_start TIMESTAMPTZ;

-- Tasks from before keep their creation order as their manual order: evenly spaced keys of
-- one width (5 bytes, 65,536 apart, then the crate's terminator byte 0x80), as the server
-- renumbers a group of siblings. Run as the owner over every user's rows, with forced row
-- security lifted for this statement as in 000011.
DO $$
DECLARE
    forced boolean;
BEGIN
    SELECT relforcerowsecurity INTO forced FROM pg_class WHERE oid = 'tasks'::regclass;
    IF forced THEN
        ALTER TABLE tasks NO FORCE ROW LEVEL SECURITY;
    END IF;
    UPDATE tasks SET position = numbered.position
    FROM (SELECT id, lpad(to_hex(row_number() OVER (PARTITION BY user_id ORDER BY created_at, id) * 65536), 10, '0') || '80' AS position
          FROM tasks) AS numbered
    WHERE tasks.id = numbered.id;
    IF forced THEN
        ALTER TABLE tasks FORCE ROW LEVEL SECURITY;
    END IF;
END
$$;

-- A group of siblings in manual order is one index range; a parent's subtasks and a list's
-- tasks are found by their index (and the foreign keys checked by them on delete).
CREATE INDEX tasks_user_group    ON tasks (user_id, list_id, parent_id, position, id);
CREATE INDEX tasks_user_position ON tasks (user_id, position, id);
CREATE INDEX tasks_parent        ON tasks (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX tasks_list          ON tasks (list_id) WHERE list_id IS NOT NULL;

-- Row security on the new per-user table, as on every other (000010).
GRANT SELECT, INSERT, UPDATE, DELETE ON task_lists TO todo_api_app;
DO $$
BEGIN
    EXECUTE format('GRANT USAGE ON SEQUENCE %s TO todo_api_app',
                   pg_get_serial_sequence('task_lists', 'id'));
END
$$;
ALTER TABLE task_lists ENABLE ROW LEVEL SECURITY;
ALTER TABLE task_lists FORCE ROW LEVEL SECURITY;
CREATE POLICY viewer_select ON task_lists FOR SELECT
    USING (user_id = NULLIF(current_setting('app.user_id', true), ''));
CREATE POLICY viewer_insert ON task_lists FOR INSERT
    WITH CHECK (user_id = NULLIF(current_setting('app.user_id', true), ''));
CREATE POLICY viewer_update ON task_lists FOR UPDATE
    USING (user_id = NULLIF(current_setting('app.user_id', true), ''))
    WITH CHECK (user_id = NULLIF(current_setting('app.user_id', true), ''));
CREATE POLICY viewer_delete ON task_lists FOR DELETE
    USING (user_id = NULLIF(current_setting('app.user_id', true), ''));
DO $$
BEGIN
    EXECUTE format('CREATE POLICY owner_maintenance ON task_lists TO %I USING (true) WITH CHECK (true)',
                   current_user);
END
$$;
