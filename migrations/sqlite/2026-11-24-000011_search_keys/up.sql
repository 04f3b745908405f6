-- Search no longer reads stored keys on SQLite: it folds the text as it searches, with the
-- server's own `search_fold` (Rust's `to_lowercase`, registered on every connection the server
-- opens; see db::fold). A stored key cannot be kept right here: SQLite's lower() folds ASCII
-- only, and a trigger or generated column calling the server's function would break every
-- other program's writes ("no such function"). Title order folds the same way at query time.
--
-- The two columns stay, so both backends have the same columns and writers that still send a
-- key keep working, but nothing reads them; writers that do not send one get ''/NULL.
-- (They are dropped and added back to lose the NOT NULL without a table rebuild.)
DROP INDEX tasks_user_title;
ALTER TABLE tasks DROP COLUMN title_key;
ALTER TABLE tasks DROP COLUMN description_key;
ALTER TABLE tasks ADD COLUMN title_key TEXT NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN description_key TEXT;
