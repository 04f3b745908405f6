-- PostgreSQL's create now starts from the columns' defaults (see migrations/postgres); SQLite
-- has no write functions. This migration exists so both sets keep the same names and order.
SELECT 1;
