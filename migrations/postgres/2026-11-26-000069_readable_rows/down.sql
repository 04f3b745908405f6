DROP TRIGGER task_lists_owner_fits ON task_lists;
DROP TRIGGER tasks_list_owner ON tasks;
DROP TRIGGER list_members_not_owner ON list_members;
DROP FUNCTION task_lists_owner_fits();
DROP FUNCTION tasks_list_owner();
DROP FUNCTION list_members_not_owner();
ALTER TABLE tasks
    DROP CONSTRAINT tasks_due_date_readable,
    DROP CONSTRAINT tasks_completed_at_readable,
    DROP CONSTRAINT tasks_recurrence_start_readable,
    DROP CONSTRAINT tasks_created_at_readable,
    DROP CONSTRAINT tasks_updated_at_readable;
ALTER TABLE task_lists
    DROP CONSTRAINT task_lists_created_at_readable,
    DROP CONSTRAINT task_lists_updated_at_readable;
ALTER TABLE task_tags DROP CONSTRAINT task_tags_changed_at_readable;
ALTER TABLE list_members DROP CONSTRAINT list_members_added_at_readable;
ALTER TABLE list_invites
    DROP CONSTRAINT list_invites_created_at_readable,
    DROP CONSTRAINT list_invites_expires_at_readable;
DROP FUNCTION readable_time(timestamptz);
-- journal_changes keeps its de-duplicated recipients (a set either way); mended rows stay.
