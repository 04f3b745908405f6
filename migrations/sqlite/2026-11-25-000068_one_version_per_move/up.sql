-- One change, one version: a move that leaves a task's assignee outside its new list was
-- two versions on SQLite (the move's, then `tasks_version_people` counting the assignee that
-- `tasks_assignee_fit` clears as a change of its own); PostgreSQL clears the assignee in the
-- move's own row (a BEFORE trigger) and counts one. Clearing an assignee who no longer fits
-- the task's list is now part of the write that made them not fit.
DROP TRIGGER tasks_version_people;
CREATE TRIGGER tasks_version_people AFTER UPDATE ON tasks
WHEN NEW.version = OLD.version
     AND (NEW.created_by IS NOT OLD.created_by OR NEW.assignee_id IS NOT OLD.assignee_id)
     AND NOT (NEW.assignee_id IS NULL AND OLD.assignee_id IS NOT OLD.user_id
              AND NOT EXISTS (SELECT 1 FROM list_members m
                              WHERE m.list_id = OLD.list_id AND m.user_id = OLD.assignee_id))
BEGIN
    UPDATE tasks SET version = OLD.version + 1 WHERE id = NEW.id;
END;
