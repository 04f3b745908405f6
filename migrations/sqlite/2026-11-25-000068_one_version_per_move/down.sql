DROP TRIGGER tasks_version_people;
CREATE TRIGGER tasks_version_people AFTER UPDATE ON tasks
WHEN NEW.version = OLD.version
     AND (NEW.created_by IS NOT OLD.created_by OR NEW.assignee_id IS NOT OLD.assignee_id)
BEGIN
    UPDATE tasks SET version = OLD.version + 1 WHERE id = NEW.id;
END;
