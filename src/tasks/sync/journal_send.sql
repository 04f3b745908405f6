-- Sends one change's NOTIFY payload (`events::wire`), or holds it until the transaction's end
-- when the server defers its events (`app.events` = 'deferred': `events::deferred`). `one`, the
-- task as written, rides along as `w` when the payload stays small, else `r` asks the server
-- to read it; a payload too large to notify, or a transaction holding too much, becomes a
-- resync.
CREATE OR REPLACE FUNCTION public.journal_send(payload text, one jsonb)
 RETURNS void LANGUAGE plpgsql SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
DECLARE
    held text;
BEGIN
    IF one IS NOT NULL THEN
        IF octet_length(payload) + octet_length(one::text) < 6000 THEN
            payload := (payload::jsonb || jsonb_build_object('w', one))::text;
        ELSE
            payload := (payload::jsonb || '{"r": true}'::jsonb)::text;
        END IF;
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
