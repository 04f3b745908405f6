-- Same table as migrations/postgres, in SQLite's dialect. SQLite runs one write transaction
-- at a time, so a key is never written by two requests at once.
CREATE TABLE idempotency_keys (
    user_id    TEXT      NOT NULL,
    key        TEXT      NOT NULL,
    method     TEXT      NOT NULL,
    path       TEXT      NOT NULL,
    body_hash  TEXT      NOT NULL,
    status     INTEGER   NOT NULL,
    body       TEXT      NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
