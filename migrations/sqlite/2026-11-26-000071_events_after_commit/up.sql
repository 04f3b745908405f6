-- PostgreSQL's writes publish their events after the commit (see migrations/postgres); SQLite
-- has no NOTIFY and always did. This migration exists so both sets keep the same names and order.
SELECT 1;
