DROP TABLE task_tags;
