-- SQLite's way to deliver every member's events itself (see migrations/sqlite): PostgreSQL's
-- journal trigger NOTIFYs each member, and `bump_version` already compares whole rows. This
-- migration exists so both sets keep the same names and order.
SELECT 1;
