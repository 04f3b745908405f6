-- SQLite has no functions: accepting an invite is the server's steps in one write
-- transaction (`tasks::store::invites`), and SQLite runs one at a time, so a list's deletion
-- cannot come between them. This migration exists so both sets keep the same names and order.
SELECT 1;
