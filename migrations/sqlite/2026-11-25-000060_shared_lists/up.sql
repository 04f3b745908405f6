-- Same tables as migrations/postgres (see there). SQLite has no row security: the visibility
-- predicate (`tasks::visibility`) is its one wall.
CREATE TABLE list_members (
    list_id  BIGINT    NOT NULL REFERENCES task_lists (id) ON DELETE CASCADE,
    user_id  TEXT      NOT NULL,
    role     TEXT      NOT NULL CHECK (role IN ('editor', 'viewer')),
    added_at TIMESTAMP NOT NULL,
    PRIMARY KEY (list_id, user_id)
);
CREATE INDEX list_members_user ON list_members (user_id, list_id);

CREATE TABLE list_invites (
    token_hash TEXT      PRIMARY KEY,
    list_id    BIGINT    NOT NULL REFERENCES task_lists (id) ON DELETE CASCADE,
    role       TEXT      NOT NULL CHECK (role IN ('editor', 'viewer')),
    created_by TEXT      NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked    BOOLEAN   NOT NULL DEFAULT FALSE
);
CREATE INDEX list_invites_list ON list_invites (list_id, created_at);
