-- A server from before this migration reads title_key again: SQLite's lower() (ASCII only) is
-- the best SQL can do; its start-up backfill fills description_key.
UPDATE tasks SET title_key = lower(title), description_key = NULL;
CREATE INDEX tasks_user_title ON tasks (user_id, title_key, id);
