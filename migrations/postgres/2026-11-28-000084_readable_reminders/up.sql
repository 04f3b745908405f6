-- A reminder's times are readable like a task's other times (000069): another program's
-- 'infinity' or year-0 `remind_at` was stored, and the server answered a read of that task with
-- an error. Unreadable ones are cleared first (no reminder, never fired), then refused.
UPDATE tasks SET
    remind_at = CASE WHEN readable_time(remind_at) THEN remind_at END,
    reminded_at = CASE WHEN readable_time(reminded_at) THEN reminded_at END
WHERE NOT readable_time(remind_at) OR NOT readable_time(reminded_at);
ALTER TABLE tasks
    ADD CONSTRAINT tasks_remind_at_readable CHECK (readable_time(remind_at)),
    ADD CONSTRAINT tasks_reminded_at_readable CHECK (readable_time(reminded_at));
