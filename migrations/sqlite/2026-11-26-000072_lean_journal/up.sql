-- PostgreSQL's journal trigger and CHECKs made cheaper per write (see migrations/postgres); on
-- SQLite the journal is written by the server in process. This migration exists so both sets
-- keep the same names and order.
SELECT 1;
