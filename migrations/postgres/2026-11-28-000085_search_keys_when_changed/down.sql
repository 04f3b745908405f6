DROP TRIGGER tasks_search_keys_changed ON tasks;
DROP TRIGGER tasks_search_keys ON tasks;
CREATE TRIGGER tasks_search_keys BEFORE INSERT OR UPDATE ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_search_keys();
