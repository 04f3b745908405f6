-- Same table as migrations/postgres, in SQLite's dialect.
-- INTEGER PRIMARY KEY AUTOINCREMENT: the rowid alias (BIGINT PRIMARY KEY would not be one), and
-- ids are never reused after a delete, as on PostgreSQL.
-- Timestamps are TEXT written only by the application, in one format ("%F %T%.f" UTC), so that
-- text order is time order.
CREATE TABLE tasks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id     TEXT      NOT NULL,
    title       TEXT      NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    -- Lower-cased title written by the application; SQLite compares it byte-wise, as the
    -- COLLATE "C" column does on PostgreSQL.
    title_key   TEXT      NOT NULL,
    description TEXT      CHECK (description IS NULL OR length(description) <= 1000),
    completed   BOOLEAN   NOT NULL DEFAULT 0,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

CREATE INDEX tasks_user_created ON tasks (user_id, created_at, id);
CREATE INDEX tasks_user_updated ON tasks (user_id, updated_at, id);
CREATE INDEX tasks_user_title   ON tasks (user_id, title_key, id);
CREATE INDEX tasks_user_status  ON tasks (user_id, completed, id);
