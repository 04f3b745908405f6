-- Same table as migrations/postgres (see there), in SQLite's dialect; the cascade needs
-- `foreign_keys=ON`, which every connection sets (`db::sqlite`).
CREATE TABLE task_tags (
    user_id    TEXT      NOT NULL,
    task_id    BIGINT    NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    tag_key    TEXT      NOT NULL,
    name       TEXT      NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
    changed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (task_id, tag_key)
);
CREATE INDEX task_tags_user_key ON task_tags (user_id, tag_key);
