DROP FUNCTION idempotency_claim(text, text, timestamp, bigint);
DROP FUNCTION task_delete(text, bigint, bigint[], timestamp, bigint, int);
DROP FUNCTION task_complete(text, bigint, boolean, bigint[], timestamp);
DROP FUNCTION task_update(text, bigint, bigint[], timestamp, boolean, text, boolean, text, boolean,
    smallint, text, boolean, timestamp, boolean, text, text, boolean, timestamp, timestamp, text,
    text[], text[], bigint, boolean, bigint, boolean, bigint, text);
DROP FUNCTION task_create(text, text, text, smallint, text, timestamp, bigint, bigint, text, text,
    text[], text[], text, text, timestamp, bigint, bigint, int, int);
DROP FUNCTION index_task_tags(text, bigint, text[], text[], timestamp, bigint);
DROP FUNCTION group_end(text, bigint, bigint);
DROP FUNCTION owner_locks(text);
