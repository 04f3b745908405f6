-- As on PostgreSQL (its migration says why): no read needs the category index.
DROP INDEX IF EXISTS tasks_user_category;
