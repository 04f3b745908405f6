-- PostgreSQL's membership helpers read the caller once (see migrations/postgres); SQLite has
-- no row security. This migration exists so both sets keep the same names and order.
SELECT 1;
