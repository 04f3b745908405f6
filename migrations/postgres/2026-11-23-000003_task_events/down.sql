DROP TABLE task_changes;
DROP TABLE task_sync_cursors;
