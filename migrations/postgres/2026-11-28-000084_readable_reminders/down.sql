ALTER TABLE tasks
    DROP CONSTRAINT tasks_remind_at_readable,
    DROP CONSTRAINT tasks_reminded_at_readable;
