-- Back to notifying in every transaction (000040's journal_notify).
CREATE OR REPLACE FUNCTION journal_notify(entity text, owners text[], ids bigint[], gone boolean[],
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

DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION journal_notify(text, text[], bigint[], boolean[], boolean[], jsonb) '
                   'SET search_path = pg_catalog, %I, pg_temp', current_schema());
END
$$;
