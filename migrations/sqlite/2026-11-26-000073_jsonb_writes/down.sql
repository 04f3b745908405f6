-- PostgreSQL's task writes take one jsonb argument (see migrations/postgres); SQLite has no
-- write functions (the server writes `NewTaskRow` / `TaskChanges` itself: `task::stepwise`).
-- This migration exists so both sets keep the same names and order.
SELECT 1;
