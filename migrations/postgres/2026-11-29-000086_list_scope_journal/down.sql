DROP TABLE list_task_changes;
DROP TABLE list_journal_counters;
