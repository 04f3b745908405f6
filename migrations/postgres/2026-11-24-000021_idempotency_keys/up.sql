-- Idempotency keys (issue 20): the outcome of each write a client sent with an
-- `Idempotency-Key` (or GraphQL `idempotencyKey`), so that a retry replays it instead of
-- writing twice. A row is inserted in the same transaction as the write it records: a write
-- that failed left none, and a retry runs again. Keys belong to one user (`user_id` first in
-- the key, like every per-user table); a key in use by a running request is held by a
-- transaction-scoped advisory lock, not by a row. Rows older than IDEMPOTENCY_KEY_RETENTION
-- are pruned in the background.
CREATE TABLE idempotency_keys (
    user_id    TEXT        NOT NULL,
    key        TEXT        NOT NULL,
    -- The request the key was first used for: a repeat must match it (else 422).
    method     TEXT        NOT NULL,
    path       TEXT        NOT NULL,
    body_hash  TEXT        NOT NULL,
    -- The response replayed to a repeat, byte for byte.
    status     INTEGER     NOT NULL,
    body       TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, key)
);

-- The scheduled prune reads the oldest rows of every user.
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
