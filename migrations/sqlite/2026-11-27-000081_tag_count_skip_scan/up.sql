-- PostgreSQL's tag cap counts a user's tags by walking its index from one tag to the next (see
-- migrations/postgres); SQLite keeps its count. This migration exists so both sets keep the
-- same names and order.
SELECT 1;
