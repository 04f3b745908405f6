-- PostgreSQL reads a group's end as the tables' owner and keeps the plan of task_defaults (see
-- migrations/postgres); SQLite has neither row security nor such functions. This migration
-- exists so both sets keep the same names and order.
SELECT 1;
