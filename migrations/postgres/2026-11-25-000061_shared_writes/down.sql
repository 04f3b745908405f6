DROP FUNCTION task_create(text, text, text, smallint, text, timestamp, bigint, bigint, text,
    text, text[], text[], text, text, timestamp, bigint, bigint, int, int);
DROP FUNCTION task_update(text, bigint, bigint[], timestamp, boolean, text, boolean, text,
    boolean, smallint, text, boolean, timestamp, boolean, text, text, boolean, timestamp,
    timestamp, text, text[], text[], bigint, boolean, bigint, boolean, bigint, text);
DROP FUNCTION task_complete(text, bigint, boolean, bigint[], timestamp);
DROP FUNCTION task_delete(text, bigint, bigint[], timestamp, bigint, int);
ALTER FUNCTION task_create_owned(text, text, text, smallint, text, timestamp, bigint, bigint,
    text, text, text[], text[], text, text, timestamp, bigint, bigint, int, int)
    RENAME TO task_create;
ALTER FUNCTION task_update_owned(text, bigint, bigint[], timestamp, boolean, text, boolean,
    text, boolean, smallint, text, boolean, timestamp, boolean, text, text, boolean,
    timestamp, timestamp, text, text[], text[], bigint, boolean, bigint, boolean, bigint, text)
    RENAME TO task_update;
ALTER FUNCTION task_complete_owned(text, bigint, boolean, bigint[], timestamp)
    RENAME TO task_complete;
ALTER FUNCTION task_delete_owned(text, bigint, bigint[], timestamp, bigint, int)
    RENAME TO task_delete;
DROP FUNCTION task_writer(text, bigint);
DROP FUNCTION list_writer(text, bigint);
DROP INDEX tasks_assignee;
ALTER TABLE tasks DROP COLUMN created_by, DROP COLUMN assignee_id;
