-- Same change as migrations/postgres (see there), in SQLite's dialect. Text compares by
-- bytes (the BINARY collation), so positions sort as they do there under "C".
CREATE TABLE task_lists (
    id         INTEGER   PRIMARY KEY AUTOINCREMENT,
    user_id    TEXT      NOT NULL,
    name       TEXT      NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    name_key   TEXT      NOT NULL,
    color      TEXT      CHECK (color IN ('red', 'orange', 'yellow', 'green', 'teal', 'blue', 'purple', 'pink', 'gray')),
    position   TEXT      NOT NULL,
    version    BIGINT    NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX task_lists_user_name ON task_lists (user_id, name_key);
CREATE INDEX task_lists_user_position ON task_lists (user_id, position, id);

ALTER TABLE tasks ADD COLUMN list_id BIGINT REFERENCES task_lists (id);
ALTER TABLE tasks ADD COLUMN parent_id BIGINT REFERENCES tasks (id);
ALTER TABLE tasks ADD COLUMN position TEXT NOT NULL DEFAULT '80';
ALTER TABLE tasks ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE tasks ADD COLUMN recurrence TEXT;
ALTER TABLE tasks ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE tasks ADD COLUMN recurrence_start TIMESTAMP;

UPDATE tasks SET position = (
    SELECT printf('%010x', numbered.n * 65536) || '80'
    FROM (SELECT id, row_number() OVER (PARTITION BY user_id ORDER BY created_at, id) AS n
          FROM tasks) AS numbered
    WHERE numbered.id = tasks.id);

CREATE INDEX tasks_user_group    ON tasks (user_id, list_id, parent_id, position, id);
CREATE INDEX tasks_user_position ON tasks (user_id, position, id);
CREATE INDEX tasks_parent        ON tasks (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX tasks_list          ON tasks (list_id) WHERE list_id IS NOT NULL;
