DROP TRIGGER task_lists_owner_fits;
DROP TRIGGER tasks_list_owner_update;
DROP TRIGGER tasks_list_owner_insert;
DROP TRIGGER list_members_not_owner_update;
DROP TRIGGER list_members_not_owner_insert;
DROP TRIGGER tasks_times_readable_insert;
DROP TRIGGER tasks_times_readable_update;
DROP TRIGGER task_lists_times_readable_insert;
DROP TRIGGER task_lists_times_readable_update;
DROP TRIGGER task_tags_times_readable_insert;
DROP TRIGGER task_tags_times_readable_update;
DROP TRIGGER list_members_times_readable_insert;
DROP TRIGGER list_members_times_readable_update;
DROP TRIGGER list_invites_times_readable_insert;
DROP TRIGGER list_invites_times_readable_update;
-- The journal and membership triggers keep ignoring the owner as a member; mended rows stay.
