-- PostgreSQL's read policy on task_tags looks a shared task up by its key (see
-- migrations/postgres); SQLite has no row security. This migration exists so both sets keep
-- the same names and order.
SELECT 1;
