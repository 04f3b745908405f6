-- PostgreSQL folds a task's search keys on an UPDATE only when its title or description
-- changes (see migrations/postgres); SQLite folds them in its queries. This migration exists so
-- both sets keep the same names and order.
SELECT 1;
