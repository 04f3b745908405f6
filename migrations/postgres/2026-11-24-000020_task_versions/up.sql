-- A version on every task: 1 when created, one more on every change (written by the
-- application in the same UPDATE as the change). REST shows it as `version` and as the strong
-- ETag `"<id>-<version>"`; `If-Match` / GraphQL `expectedVersion` compare against it, so a
-- write made from a stale copy is refused instead of silently undoing someone else's.
-- Existing tasks start at 1.
ALTER TABLE tasks ADD COLUMN version BIGINT NOT NULL DEFAULT 1 CHECK (version >= 1);
