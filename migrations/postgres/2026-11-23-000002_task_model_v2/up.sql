-- Task model v2: priority, category, due date, completion time and a search key.
-- priority is a rank (0 none, 1 low, 2 medium, 3 high) so that ordering by it is ordering by
-- importance; category is one of a closed set of names.
ALTER TABLE tasks
    ADD COLUMN priority        SMALLINT    NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 3),
    ADD COLUMN category        TEXT        NOT NULL DEFAULT 'other'
        CHECK (category IN ('work', 'personal', 'shopping', 'health', 'other')),
    ADD COLUMN due_date        TIMESTAMPTZ,
    ADD COLUMN completed_at    TIMESTAMPTZ,
    -- Lower-cased description (Rust's to_lowercase, written by the application as title_key
    -- is), so that case-insensitive search gives the same answer here as on SQLite, for
    -- non-ASCII text too. NULL on rows written before this migration until the application
    -- fills it in at start.
    ADD COLUMN description_key TEXT COLLATE "C";

-- The best guess for tasks completed before completion times were kept.
UPDATE tasks SET completed_at = updated_at WHERE completed;

-- One index per new filter / order, each led by the owner and ended by the id tie-breaker.
CREATE INDEX tasks_user_priority ON tasks (user_id, priority, id);
CREATE INDEX tasks_user_category ON tasks (user_id, category, id);
CREATE INDEX tasks_user_due      ON tasks (user_id, due_date, id);

-- Substring search (`LIKE '%…%'`) cannot use a b-tree; a trigram index serves it. pg_trgm is
-- a trusted extension (PostgreSQL 13+), so a database owner can create it without being a
-- superuser. Where it cannot be created (no contrib package, no CREATE right) search still
-- works, by scanning the user's tasks through tasks_user_created.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm unavailable (%), search runs without a trigram index', SQLERRM;
END
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX tasks_search_trgm ON tasks
            USING gin (title_key gin_trgm_ops, description_key gin_trgm_ops);
    END IF;
END
$$;
