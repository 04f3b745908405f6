DROP TRIGGER tasks_search_keys ON tasks;
DROP FUNCTION tasks_search_keys();
DROP FUNCTION search_fold(text);
