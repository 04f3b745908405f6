DROP TRIGGER tasks_journal_list_delete;
DROP TRIGGER tasks_journal_list_update;
DROP TRIGGER tasks_journal_list_insert;
DROP TABLE list_task_changes;
DROP TABLE list_journal_counters;
