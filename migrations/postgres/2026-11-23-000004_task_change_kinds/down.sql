ALTER TABLE task_changes DROP COLUMN created_seq;
