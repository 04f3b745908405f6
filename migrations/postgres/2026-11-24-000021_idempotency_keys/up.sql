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

-- Row-level security, as on every per-user table (2026-11-24-000010_row_security): requests
-- run as `todo_api_app` with the viewer in `app.user_id`, and see and write only that user's
-- keys; the owner's maintenance policy lets the scheduled prune drop every user's expired
-- ones.
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO todo_api_app;
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY viewer_select ON idempotency_keys FOR SELECT
    USING (user_id = NULLIF(current_setting('app.user_id', true), ''));
CREATE POLICY viewer_insert ON idempotency_keys FOR INSERT
    WITH CHECK (user_id = NULLIF(current_setting('app.user_id', true), ''));
CREATE POLICY viewer_update ON idempotency_keys FOR UPDATE
    USING (user_id = NULLIF(current_setting('app.user_id', true), ''))
    WITH CHECK (user_id = NULLIF(current_setting('app.user_id', true), ''));
CREATE POLICY viewer_delete ON idempotency_keys FOR DELETE
    USING (user_id = NULLIF(current_setting('app.user_id', true), ''));
DO $$
BEGIN
    EXECUTE format('CREATE POLICY owner_maintenance ON idempotency_keys TO %I USING (true) WITH CHECK (true)',
                   current_user);
END
$$;
