-- SQLite has no roles and no row security: the store's owner filter is its only wall (see
-- docs/SECURITY.md). This migration exists so both sets keep the same names and order.
SELECT 1;
