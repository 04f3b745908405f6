-- SQLite has no functions of its own (nor row security to pass): the server accepts an
-- invite link in the same steps, one statement each (`tasks::store::invites`). This migration
-- exists so both sets keep the same names and order.
SELECT 1;
