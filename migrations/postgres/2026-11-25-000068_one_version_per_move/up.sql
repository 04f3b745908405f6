-- SQLite's version count on a move that unassigns (see migrations/sqlite); PostgreSQL counted
-- one already. This migration exists so both sets keep the same names and order.
SELECT 1;
