-- PostgreSQL keeps each owner's task count in a row (see migrations/postgres); SQLite, one
-- writer at a time and embedded, still counts the owner's tasks on its index. This migration
-- exists so both sets keep the same names and order.
SELECT 1;
