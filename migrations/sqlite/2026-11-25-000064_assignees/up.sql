-- Assignees: the same rules as migrations/postgres (see there). SQLite has no write
-- functions: the server checks an assignee it is given (`tasks::store::assignees`); these
-- triggers keep the rest. A task moved to a list its assignee is no member of loses its
-- assignee (its move is the change: the version the move wrote covers it).
CREATE TRIGGER tasks_assignee_fit AFTER UPDATE OF list_id ON tasks
WHEN NEW.list_id IS NOT OLD.list_id AND NEW.assignee_id IS NOT NULL
     AND NEW.assignee_id IS NOT NEW.user_id
     AND NOT EXISTS (SELECT 1 FROM list_members m
                     WHERE m.list_id = NEW.list_id AND m.user_id = NEW.assignee_id)
BEGIN
    UPDATE tasks SET assignee_id = NULL WHERE id = NEW.id;
END;

-- A membership that ends: the list's tasks assigned to that member lose their assignee, a
-- change of each (a new version, journaled for the owner and the remaining members).
CREATE TRIGGER list_members_unassign AFTER DELETE ON list_members
BEGIN
    UPDATE tasks SET assignee_id = NULL, version = version + 1,
                     updated_at = strftime('%Y-%m-%d %H:%M:%f', 'now')
    WHERE list_id = OLD.list_id AND assignee_id = OLD.user_id;
END;
