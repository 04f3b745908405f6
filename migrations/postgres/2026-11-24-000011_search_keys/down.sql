DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX tasks_search_trgm ON tasks
            USING gin (title_key gin_trgm_ops, description_key gin_trgm_ops);
    END IF;
END
$$;
DROP TRIGGER tasks_search_keys ON tasks;
DROP FUNCTION tasks_search_keys();
DROP FUNCTION search_fold(text);
