-- Same columns and index as migrations/postgres (see there). SQLite has no write functions:
-- the server resolves a shared task's owner itself (`tasks::store::stepwise`) and writes
-- `created_by`.
ALTER TABLE tasks ADD COLUMN created_by TEXT;
ALTER TABLE tasks ADD COLUMN assignee_id TEXT;
CREATE INDEX tasks_assignee ON tasks (assignee_id, list_id) WHERE assignee_id IS NOT NULL;
