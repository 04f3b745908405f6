-- The database keeps the books (issue 27, DESIGN rule 12): every insert, update, delete and
-- TRUNCATE of a task or a list, whoever makes it (this server, a legacy backend, an import
-- script, an admin in psql), gets its change number, its journal entry, a version bump when
-- the row really changes, and a NOTIFY, from triggers these migrations own. Until now the
-- server wrote all of that itself, in three extra statements per write, and other writers'
-- changes never reached sync or live clients.
--
-- The triggers run as `todo_api_journal`, a role without LOGIN, SUPERUSER or BYPASSRLS that
-- owns nothing but these functions: it may read tasks and lists (to place a task and to
-- record what a TRUNCATE removes) and write the journal and the counters, whoever the writer
-- is and whether or not it set `app.user_id`. It writes only the entries of the owners of the
-- rows the triggering statement changed, so no user's write touches another user's journal.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'todo_api_journal') THEN
        CREATE ROLE todo_api_journal NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL; -- another database's migration created it first
END
$$;

DO $$
BEGIN
    IF NOT pg_has_role(current_user, 'todo_api_journal', 'MEMBER') THEN
        EXECUTE format('GRANT todo_api_journal TO %I', current_user);
    END IF;
EXCEPTION WHEN unique_violation THEN
    NULL;
END
$$;

-- Journal entries are keyed by owner and task: ids can be reused (a TRUNCATE … RESTART
-- IDENTITY, a re-import), and another user's reused id must land on an entry of its own, not
-- on a tombstone of someone else's (which row security refused: every later write was a
-- 500). Still no foreign key to tasks: tombstones outlive their rows.
ALTER TABLE task_changes DROP CONSTRAINT task_changes_pkey;
ALTER TABLE task_changes ADD PRIMARY KEY (user_id, task_id);

-- Lists join the journal: each list's last change, numbered by the same per-user counter as
-- tasks, so one cursor covers both. Deleted lists stay as tombstones like tasks (pruned with
-- them).
CREATE TABLE list_changes (
    user_id     TEXT        NOT NULL,
    list_id     BIGINT      NOT NULL,
    seq         BIGINT      NOT NULL,
    deleted     BOOLEAN     NOT NULL,
    changed_at  TIMESTAMPTZ NOT NULL,
    created_seq BIGINT,
    PRIMARY KEY (user_id, list_id)
);
CREATE INDEX list_changes_user_seq ON list_changes (user_id, seq);

-- Existing lists count as changed once, after the owner's task changes.
INSERT INTO task_sync_cursors (user_id, last_seq)
SELECT DISTINCT user_id, 0 FROM task_lists
ON CONFLICT (user_id) DO NOTHING;
INSERT INTO list_changes (user_id, list_id, seq, deleted, changed_at, created_seq)
SELECT l.user_id, l.id, c.last_seq + row_number() OVER (PARTITION BY l.user_id ORDER BY l.id),
       FALSE, l.updated_at, NULL
FROM task_lists l JOIN task_sync_cursors c ON c.user_id = l.user_id;
UPDATE task_sync_cursors c SET last_seq = m.seq
FROM (SELECT user_id, max(seq) AS seq FROM list_changes GROUP BY user_id) m
WHERE m.user_id = c.user_id;

-- Row security on the new table, as on every per-user table (000010): requests read their
-- own entries; the owner's maintenance (the tombstone prune) sees every user's.
GRANT SELECT, INSERT, UPDATE, DELETE ON list_changes TO todo_api_app;
ALTER TABLE list_changes ENABLE ROW LEVEL SECURITY;
ALTER TABLE list_changes FORCE ROW LEVEL SECURITY;
CREATE POLICY viewer_select ON list_changes FOR SELECT
    USING (user_id = NULLIF(current_setting('app.user_id', true), ''));
CREATE POLICY viewer_insert ON list_changes FOR INSERT
    WITH CHECK (user_id = NULLIF(current_setting('app.user_id', true), ''));
CREATE POLICY viewer_update ON list_changes FOR UPDATE
    USING (user_id = NULLIF(current_setting('app.user_id', true), ''))
    WITH CHECK (user_id = NULLIF(current_setting('app.user_id', true), ''));
CREATE POLICY viewer_delete ON list_changes FOR DELETE
    USING (user_id = NULLIF(current_setting('app.user_id', true), ''));
DO $$
BEGIN
    EXECUTE format('CREATE POLICY owner_maintenance ON list_changes TO %I USING (true) WITH CHECK (true)',
                   current_user);
END
$$;

-- What the triggers' role may do: read tasks and lists, keep the journal and the counters.
-- Each grant has its policy, as row security is forced on every one of these tables.
DO $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO todo_api_journal', current_schema());
END
$$;
GRANT SELECT ON tasks, task_lists TO todo_api_journal;
-- To move an id sequence past ids another writer gave (`journal_changes`).
DO $$
BEGIN
    EXECUTE format('GRANT SELECT, UPDATE ON SEQUENCE %s, %s TO todo_api_journal',
                   pg_get_serial_sequence('tasks', 'id'), pg_get_serial_sequence('task_lists', 'id'));
END
$$;
GRANT SELECT, INSERT, UPDATE ON task_changes, list_changes, task_sync_cursors TO todo_api_journal;
DO $$
DECLARE
    t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['tasks', 'task_lists'] LOOP
        EXECUTE format('CREATE POLICY journal_reads ON %I FOR SELECT TO todo_api_journal USING (true)', t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['task_changes', 'list_changes', 'task_sync_cursors'] LOOP
        EXECUTE format('CREATE POLICY journal_keeps ON %I TO todo_api_journal USING (true) WITH CHECK (true)', t);
    END LOOP;
END
$$;

-- A version bump only when the row really changes (whatever the writer put in `version`):
-- an UPDATE that rewrites a row as it was leaves it, so ETags stay and no change is
-- recorded. Named to fire after `tasks_search_keys` (BEFORE triggers fire in name order), so
-- a key it corrects counts as a change. No table access: it runs as the writer.
CREATE FUNCTION bump_version() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version;
    IF NEW IS DISTINCT FROM OLD THEN
        NEW.version := OLD.version + 1;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER tasks_version BEFORE UPDATE ON tasks
    FOR EACH ROW EXECUTE FUNCTION bump_version();
CREATE TRIGGER task_lists_version BEFORE UPDATE ON task_lists
    FOR EACH ROW EXECUTE FUNCTION bump_version();

-- The key `tasks::position` puts after `key` (the `fractional_index` crate's `new_after`, on
-- its hex form): the first byte below the terminator 0x80 ends the key there; otherwise the
-- first byte below 0xff is incremented and the key ends after it. NULL (an empty group)
-- gives the first key, '80'. A key the server did not write (not hex, no terminator) gives
-- one past it in byte order that is a valid key, so order still holds.
CREATE FUNCTION position_after(key text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    bytes bytea;
    i int;
    b int;
BEGIN
    IF key IS NULL THEN
        RETURN '80';
    END IF;
    IF key !~ '^([0-9a-f]{2})+$' OR right(key, 2) <> '80' THEN
        RETURN CASE WHEN key < 'ff' THEN 'ff80' ELSE key || 'ff80' END;
    END IF;
    bytes := decode(key, 'hex');
    FOR i IN 0 .. length(bytes) - 1 LOOP
        b := get_byte(bytes, i);
        IF b < 128 THEN
            RETURN encode(substring(bytes FROM 1 FOR i), 'hex') || '80';
        END IF;
        IF b < 255 THEN
            RETURN encode(substring(bytes FROM 1 FOR i), 'hex') || lpad(to_hex(b + 1), 2, '0') || '80';
        END IF;
    END LOOP;
    RETURN key || 'ff80'; -- unreachable: a key ends with 0x80
END
$$;

-- A task inserted without a position (a writer that knows nothing of manual order: the
-- FastAPI reference's model has no such column) goes to the end of its group (same owner,
-- list and parent), under the owner's placement lock, so concurrent creates never share a
-- key. The key is `store::locks`' (its kind's top bits `10`, then 62 bits of
-- `hashtextextended(owner, 0)`): keep the two the same. The server always gives a position.
ALTER TABLE tasks ALTER COLUMN position DROP DEFAULT;
CREATE FUNCTION tasks_place() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(
        (hashtextextended(NEW.user_id, 0) & ((1::bigint << 62) - 1)) | (1::bigint << 63));
    NEW.position := position_after((
        SELECT max(position) FROM tasks
        WHERE user_id = NEW.user_id
          AND list_id IS NOT DISTINCT FROM NEW.list_id
          AND parent_id IS NOT DISTINCT FROM NEW.parent_id));
    RETURN NEW;
END
$$;
CREATE TRIGGER tasks_place BEFORE INSERT ON tasks
    FOR EACH ROW WHEN (NEW.position IS NULL) EXECUTE FUNCTION tasks_place();

-- Records changes (owner, id, deleted?, created?) of `entity` ('task' or 'list') in its
-- journal with each owner's next change numbers, and returns each owner's range of numbers
-- (after, upto]. The counter upsert takes the owners' rows in owner order and holds them
-- until commit, so one owner's changes commit in number order (000003) and two statements
-- over several owners cannot deadlock on them. Within a statement, numbers follow ids.
-- A reused id's entry (a tombstone of an earlier life) becomes its creation again.
CREATE FUNCTION journal_record(entity text, owners text[], ids bigint[], gone boolean[],
                               born boolean[])
    RETURNS TABLE (owner text, after bigint, upto bigint)
    LANGUAGE plpgsql AS $$
DECLARE
    range_owners text[];
    range_after bigint[];
    range_upto bigint[];
BEGIN
    WITH counts AS (
        SELECT o AS who, count(*) AS n FROM unnest(owners) AS o GROUP BY o
    ), taken AS (
        INSERT INTO task_sync_cursors AS cur (user_id, last_seq, pruned_seq)
        SELECT k.who, k.n, 0 FROM counts k ORDER BY k.who
        ON CONFLICT (user_id) DO UPDATE SET last_seq = cur.last_seq + EXCLUDED.last_seq
        RETURNING cur.user_id, cur.last_seq
    )
    SELECT array_agg(t.user_id), array_agg(t.last_seq - k.n), array_agg(t.last_seq)
    INTO range_owners, range_after, range_upto
    FROM taken t JOIN counts k ON k.who = t.user_id;

    IF entity = 'task' THEN
        INSERT INTO task_changes AS j (user_id, task_id, seq, deleted, changed_at, created_seq)
        SELECT x.who, x.id, x.num, x.deleted, now(), CASE WHEN x.created THEN x.num END
        FROM (SELECT c.who, c.id, c.deleted, c.created,
                     r.first + row_number() OVER (PARTITION BY c.who ORDER BY c.id) AS num
              FROM unnest(owners, ids, gone, born) AS c(who, id, deleted, created)
              JOIN unnest(range_owners, range_after) AS r(who, first) ON r.who = c.who) x
        ON CONFLICT (user_id, task_id) DO UPDATE
            SET seq = EXCLUDED.seq, deleted = EXCLUDED.deleted, changed_at = EXCLUDED.changed_at,
                created_seq = coalesce(EXCLUDED.created_seq, j.created_seq);
    ELSE
        INSERT INTO list_changes AS j (user_id, list_id, seq, deleted, changed_at, created_seq)
        SELECT x.who, x.id, x.num, x.deleted, now(), CASE WHEN x.created THEN x.num END
        FROM (SELECT c.who, c.id, c.deleted, c.created,
                     r.first + row_number() OVER (PARTITION BY c.who ORDER BY c.id) AS num
              FROM unnest(owners, ids, gone, born) AS c(who, id, deleted, created)
              JOIN unnest(range_owners, range_after) AS r(who, first) ON r.who = c.who) x
        ON CONFLICT (user_id, list_id) DO UPDATE
            SET seq = EXCLUDED.seq, deleted = EXCLUDED.deleted, changed_at = EXCLUDED.changed_at,
                created_seq = coalesce(EXCLUDED.created_seq, j.created_seq);
    END IF;
    RETURN QUERY SELECT * FROM unnest(range_owners, range_after, range_upto);
END
$$;

-- One NOTIFY for a statement's changes (`tasks::events::wire` reads it): a transaction that
-- notifies commits at less than half the rate of one that does not (PostgreSQL serialises
-- them), so a bulk change sends one. A single change carries its row (`w`, without the
-- search keys) when the payload stays under 6,000 bytes, else its ids only (`r`: the
-- listener reads the row); several carry each owner's range of change numbers (`b`) and the
-- listener reads them from the journal; a payload that would pass PostgreSQL's 8,000-byte
-- limit (a TRUNCATE over very many owners) asks every subscriber to resync instead.
CREATE FUNCTION journal_notify(entity text, owners text[], ids bigint[], gone boolean[],
                               born boolean[], one jsonb)
    RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    payload text;
    ranges jsonb;
BEGIN
    SELECT jsonb_agg(jsonb_build_array(r.owner, r.after, r.upto))
    INTO ranges
    FROM journal_record(entity, owners, ids, gone, born) r;
    IF cardinality(owners) = 1 THEN
        payload := jsonb_build_object(
            'e', entity, 'u', owners[1], 'i', ids[1], 's', ranges -> 0 -> 2,
            'k', CASE WHEN gone[1] THEN 'deleted' WHEN born[1] THEN 'created' ELSE 'updated' END
        )::text;
        IF one IS NOT NULL THEN
            IF octet_length(payload) + octet_length(one::text) < 6000 THEN
                payload := (payload::jsonb || jsonb_build_object('w', one))::text;
            ELSE
                payload := (payload::jsonb || '{"r": true}'::jsonb)::text;
            END IF;
        END IF;
    ELSE
        payload := jsonb_build_object('k', 'batch', 'b', ranges)::text;
    END IF;
    IF octet_length(payload) > 7999 THEN
        payload := '{"u": "", "k": "resync"}';
    END IF;
    PERFORM pg_notify('todo_api_task_events', payload);
END
$$;

-- The journal of tasks and of lists: one function for every statement that changes either
-- (transition tables `old_rows` / `new_rows`), and for TRUNCATE (BEFORE, so it can still read
-- the rows it records as deleted: a `TRUNCATE tasks RESTART IDENTITY CASCADE` becomes every
-- owner's tombstones). An UPDATE records the rows whose version moved (a row rewritten as it
-- was is no change); a row that changed owner or id is a deletion for the old and a creation
-- for the new. A single change's row goes without its search or name keys.
CREATE FUNCTION journal_changes() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    entity text := CASE TG_TABLE_NAME WHEN 'tasks' THEN 'task' ELSE 'list' END;
    owners text[];
    ids bigint[];
    gone boolean[];
    born boolean[];
    one jsonb;
    top bigint;
    ids_from text;
    last bigint;
    called boolean;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(n.user_id), array_agg(n.id), array_agg(false), array_agg(true), max(n.id)
        INTO owners, ids, gone, born, top FROM new_rows n;
        -- A writer that gives its own ids (a re-import, a restore) may pass the id sequence;
        -- the server's next insert would then take an id that exists (a 500). Move the
        -- sequence past them. An insert that took its id from the sequence leaves it as is.
        ids_from := pg_get_serial_sequence(TG_TABLE_NAME, 'id');
        EXECUTE format('SELECT last_value, is_called FROM %s', ids_from) INTO last, called;
        IF top > last OR (top = last AND NOT called) THEN
            PERFORM setval(ids_from, top, true);
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(o.user_id), array_agg(o.id), array_agg(true), array_agg(false)
        INTO owners, ids, gone, born FROM old_rows o;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(c.user_id), array_agg(c.id), array_agg(c.deleted), array_agg(c.created)
        INTO owners, ids, gone, born
        FROM (SELECT n.user_id, n.id, false AS deleted,
                     NOT EXISTS (SELECT 1 FROM old_rows o
                                 WHERE o.id = n.id AND o.user_id = n.user_id) AS created
              FROM new_rows n
              WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.id = n.id
                                AND o.user_id = n.user_id AND o.version = n.version)
              UNION ALL
              SELECT o.user_id, o.id, true, false
              FROM old_rows o
              WHERE NOT EXISTS (SELECT 1 FROM new_rows n
                                WHERE n.id = o.id AND n.user_id = o.user_id)) c;
    ELSE
        EXECUTE format('SELECT array_agg(user_id), array_agg(id), array_agg(true), array_agg(false)
                        FROM %I', TG_TABLE_NAME)
        INTO owners, ids, gone, born;
    END IF;
    IF owners IS NULL THEN
        RETURN NULL;
    END IF;
    IF cardinality(owners) = 1 AND NOT gone[1] THEN
        SELECT to_jsonb(n) - 'title_key' - 'description_key' - 'name_key' INTO one
        FROM new_rows n WHERE n.id = ids[1];
    END IF;
    PERFORM journal_notify(entity, owners, ids, gone, born, one);
    RETURN NULL;
END
$$;
CREATE TRIGGER tasks_journal_insert AFTER INSERT ON tasks
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION journal_changes();
CREATE TRIGGER tasks_journal_update AFTER UPDATE ON tasks
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION journal_changes();
CREATE TRIGGER tasks_journal_delete AFTER DELETE ON tasks
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION journal_changes();
CREATE TRIGGER tasks_journal_truncate BEFORE TRUNCATE ON tasks
    FOR EACH STATEMENT EXECUTE FUNCTION journal_changes();
CREATE TRIGGER task_lists_journal_insert AFTER INSERT ON task_lists
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION journal_changes();
CREATE TRIGGER task_lists_journal_update AFTER UPDATE ON task_lists
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION journal_changes();
CREATE TRIGGER task_lists_journal_delete AFTER DELETE ON task_lists
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION journal_changes();
CREATE TRIGGER task_lists_journal_truncate BEFORE TRUNCATE ON task_lists
    FOR EACH STATEMENT EXECUTE FUNCTION journal_changes();

-- The functions that touch tables run as the journal's role, with a fixed search path (the
-- catalog first, so no object of the schema can stand in for a built-in of the same
-- signature; then this schema; temporary objects last). Nobody but the schema's owner may
-- create objects in it (PostgreSQL 15's default for `public`, made explicit for older
-- servers and other schemas): otherwise a role with CREATE could add an overload that a
-- call here resolves to, and run it with the journal role's rights. Owning the functions
-- takes CREATE on the schema at the moment of the change only. The helpers are not for
-- requests: only their owner executes them.
DO $$
DECLARE
    f TEXT;
BEGIN
    EXECUTE format('GRANT CREATE ON SCHEMA %I TO todo_api_journal', current_schema());
    FOREACH f IN ARRAY ARRAY['tasks_place()', 'journal_changes()',
                             'journal_record(text, text[], bigint[], boolean[], boolean[])',
                             'journal_notify(text, text[], bigint[], boolean[], boolean[], jsonb)'] LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO todo_api_journal', f);
        EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, %I, pg_temp', f, current_schema());
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
    EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM todo_api_journal', current_schema());
    EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC', current_schema());
END
$$;
