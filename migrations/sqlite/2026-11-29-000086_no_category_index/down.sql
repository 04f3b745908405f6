CREATE INDEX tasks_user_category ON tasks (user_id, category, id);
