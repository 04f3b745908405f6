-- PostgreSQL's read policy on task_tags reads a member's lists one by one (see
-- migrations/postgres); SQLite has no row security. This migration exists so both sets keep
-- the same names and order.
SELECT 1;
