-- Search keys kept by the database, so that a row written by anything (another program, an
-- SQL import, an admin's fix) is found by the very next search. Until now the server wrote
-- `title_key` / `description_key` itself (Rust's `to_lowercase`) and rows from other writers
-- had no key, or a stale one, until a restart backfilled them.
--
-- `search_fold` is the one definition of a key here. ICU's root-locale lower-casing
-- (collation "und-x-icu") is the full Unicode mapping Rust's `to_lowercase` applies too:
-- 'ÉCOLE' -> 'école', 'ΣΑΣ' -> 'σας' (final sigma), 'İ' -> 'i̇'. Without ICU (a server built
-- without it) it falls back to lower() under the database's LC_CTYPE, which folds letter by
-- letter (no final sigma; nothing at all beyond ASCII under LC_CTYPE "C"): docs/REST.md says so.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu') THEN
        CREATE FUNCTION search_fold(text) RETURNS text
            LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
            RETURN lower($1 COLLATE "und-x-icu");
    ELSE
        RAISE NOTICE 'no ICU collation: search keys use lower() under the database ctype';
        CREATE FUNCTION search_fold(text) RETURNS text
            LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
            RETURN lower($1);
    END IF;
END
$$;

-- A trigger rather than generated columns: writers that still send a key (older versions of
-- this server during a rolling deploy, scripts written for them) keep working, and whatever
-- they send is replaced. It fires on every insert and update, so no write can leave a key
-- that disagrees with its text.
CREATE FUNCTION tasks_search_keys() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.title_key := search_fold(NEW.title);
    NEW.description_key := search_fold(NEW.description);
    RETURN NEW;
END
$$;

CREATE TRIGGER tasks_search_keys BEFORE INSERT OR UPDATE ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_search_keys();

-- Rows from before: keyed the same way (the old start-up backfill is gone); only rows whose
-- key differs are rewritten. It must reach every user's rows, so it runs as the owner, and if
-- row security is forced on the table (migration 000010), it is lifted for this one statement
-- and put back, inside the migration's transaction.
DO $$
DECLARE
    forced boolean;
BEGIN
    SELECT relforcerowsecurity INTO forced FROM pg_class WHERE oid = 'tasks'::regclass;
    IF forced THEN
        ALTER TABLE tasks NO FORCE ROW LEVEL SECURITY;
    END IF;
    UPDATE tasks SET title = title
    WHERE title_key IS DISTINCT FROM search_fold(title)
       OR description_key IS DISTINCT FROM search_fold(description);
    IF forced THEN
        ALTER TABLE tasks FORCE ROW LEVEL SECURITY;
    END IF;
END
$$;

-- The trigram index goes: search is a plain `strpos` (issue 18), which no index serves, and
-- making the index serve it again would need `LIKE '%…%'` in the query, whose recheck costs
-- text × pattern per candidate row. Measured over 10,000 tasks of one user among 110,000: a
-- crafted worst search took 1,483 ms with the LIKE prefilter, 34 ms without; a selective one
-- 8 ms with, 73 ms without. Search stays bounded by one user's rows (at most
-- MAX_TASKS_PER_USER) through the owner's b-tree, and writes stop paying for a GIN entry
-- of up to 1,200 characters.
DROP INDEX IF EXISTS tasks_search_trgm;
