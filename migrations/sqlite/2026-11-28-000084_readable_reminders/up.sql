-- A reminder's times are readable like a task's other times (000069). SQLite's rule is the
-- generated `tasks_times_readable_*` triggers (`db::sqlite_triggers`), which now name every
-- TIMESTAMP column of `tasks`, `remind_at` and `reminded_at` among them; another program's
-- unreadable ones are cleared here first (no reminder, never fired).
UPDATE tasks SET
    remind_at = CASE WHEN remind_at IS NULL OR (typeof(remind_at) = 'text'
        AND remind_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(remind_at, 1, 4) <> '0000' AND julianday(remind_at) IS NOT NULL
        AND substr(remind_at, 6, 2) BETWEEN '01' AND '12' AND substr(remind_at, 9, 2) >= '01'
        AND substr(remind_at, 9, 2) <= strftime('%d', substr(remind_at, 1, 8) || '01', '+1 month', '-1 day'))
        THEN remind_at END,
    reminded_at = CASE WHEN reminded_at IS NULL OR (typeof(reminded_at) = 'text'
        AND reminded_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'
        AND substr(reminded_at, 1, 4) <> '0000' AND julianday(reminded_at) IS NOT NULL
        AND substr(reminded_at, 6, 2) BETWEEN '01' AND '12' AND substr(reminded_at, 9, 2) >= '01'
        AND substr(reminded_at, 9, 2) <= strftime('%d', substr(reminded_at, 1, 8) || '01', '+1 month', '-1 day'))
        THEN reminded_at END
WHERE remind_at IS NOT NULL OR reminded_at IS NOT NULL;
