-- Nothing to undo on SQLite: the cleared times are gone, and the generated triggers follow the table (up.sql).
SELECT 1;
