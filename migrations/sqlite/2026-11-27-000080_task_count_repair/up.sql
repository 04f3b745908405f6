-- PostgreSQL's kept task counts repair themselves and are written under the owner's placement
-- lock (see migrations/postgres); SQLite counts the owner's tasks. This migration exists so both
-- sets keep the same names and order.
SELECT 1;
