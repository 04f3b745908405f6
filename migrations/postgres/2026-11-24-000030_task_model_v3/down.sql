DROP INDEX IF EXISTS tasks_list;
DROP INDEX IF EXISTS tasks_parent;
DROP INDEX IF EXISTS tasks_user_position;
DROP INDEX IF EXISTS tasks_user_group;
ALTER TABLE tasks
    DROP COLUMN recurrence_start,
    DROP COLUMN time_zone,
    DROP COLUMN recurrence,
    DROP COLUMN tags,
    DROP COLUMN position,
    DROP COLUMN parent_id,
    DROP COLUMN list_id;
DROP TABLE task_lists;
