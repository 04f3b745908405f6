DROP TRIGGER tasks_version_people;
DROP TRIGGER task_sync_cursors_touched_update;
DROP TRIGGER task_sync_cursors_touched_insert;
DROP TABLE journal_touched;
