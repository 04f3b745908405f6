-- Writes at the database's pace (issue 41): NOTIFY takes one lock for the whole database at
-- commit and holds it through the commit's WAL flush, so every transaction that notifies
-- commits alone. The server's own writes no longer notify in their transaction: they set
-- `app.events = 'deferred'` (transaction-local, in the write's first batch), and the journal
-- keeps each payload it would have sent in `app.deferred_events` instead (newline-separated),
-- which the server reads in the COMMIT's own round trip, then publishes after the commit: to
-- its own subscribers at once, to other instances by one batched NOTIFY per few milliseconds
-- (`tasks::events::signal`), each receiver completing from the journal what it lacks.
--
-- Both settings are transaction-local: they end with the transaction (commit or rollback), so
-- nothing reaches the next client of a pooled connection. (A function's own SET clause, such
-- as every journal function's `SET search_path`, restores only the settings it names.)
--
-- Every other writer (psql, a legacy backend) sets nothing and notifies in its transaction
-- as before: not the hot path, and its changes still reach subscribers at once.
CREATE OR REPLACE FUNCTION journal_notify(entity text, owners text[], ids bigint[], gone boolean[],
                                          born boolean[], one jsonb)
    RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    payload text;
    ranges jsonb;
    held text;
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
    IF current_setting('app.events', true) IS DISTINCT FROM 'deferred' THEN
        PERFORM pg_notify('todo_api_task_events', payload);
        RETURN;
    END IF;
    held := coalesce(current_setting('app.deferred_events', true), '');
    IF held = '' THEN
        held := payload;
    ELSIF octet_length(held) + octet_length(payload) > 1000000 THEN
        -- A transaction this large (thousands of statements) is not worth carrying: its
        -- subscribers resync, as they would from a payload too large to notify.
        IF held NOT LIKE '%"k": "resync"}' THEN
            held := held || E'\n' || '{"u": "", "k": "resync"}';
        END IF;
    ELSE
        held := held || E'\n' || payload;
    END IF;
    PERFORM set_config('app.deferred_events', held, true);
END
$$;

-- As in 000040: owned by the journal's role, a fixed search path, executable by no one else
-- (CREATE OR REPLACE keeps the owner; the SET clause is given again).
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION journal_notify(text, text[], bigint[], boolean[], boolean[], jsonb) '
                   'SET search_path = pg_catalog, %I, pg_temp', current_schema());
    REVOKE EXECUTE ON FUNCTION journal_notify(text, text[], bigint[], boolean[], boolean[], jsonb)
        FROM PUBLIC;
END
$$;
