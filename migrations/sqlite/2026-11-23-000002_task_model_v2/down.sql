DROP INDEX tasks_user_due;
DROP INDEX tasks_user_category;
DROP INDEX tasks_user_priority;
ALTER TABLE tasks DROP COLUMN description_key;
ALTER TABLE tasks DROP COLUMN completed_at;
ALTER TABLE tasks DROP COLUMN due_date;
ALTER TABLE tasks DROP COLUMN category;
ALTER TABLE tasks DROP COLUMN priority;
