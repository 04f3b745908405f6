DROP INDEX tasks_assignee;
ALTER TABLE tasks DROP COLUMN assignee_id;
ALTER TABLE tasks DROP COLUMN created_by;
