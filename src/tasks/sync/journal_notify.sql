-- Journals a statement's rows (`journal_record`) and sends the NOTIFY `events::wire` reads.
CREATE OR REPLACE FUNCTION public.journal_notify(entity text, owners text[], ids bigint[], gone boolean[], born boolean[], one jsonb)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
AS $function$
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
$function$;
