-- The extension may serve other tables: it stays.
DROP INDEX IF EXISTS tasks_search_trgm;
DROP INDEX tasks_user_due;
DROP INDEX tasks_user_category;
DROP INDEX tasks_user_priority;
ALTER TABLE tasks
    DROP COLUMN description_key,
    DROP COLUMN completed_at,
    DROP COLUMN due_date,
    DROP COLUMN category,
    DROP COLUMN priority;
