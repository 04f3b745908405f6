-- Claims an idempotency key for a request, or returns the stored answer (`store.rs`).
CREATE OR REPLACE FUNCTION public.idempotency_claim(p_user text, p_key text, p_cutoff timestamp without time zone, p_cap bigint)
 RETURNS TABLE(claim text, stored idempotency_keys) LANGUAGE plpgsql SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
DECLARE
    v_stored idempotency_keys;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext(p_user), hashtext(p_key)) THEN
        RETURN QUERY SELECT 'in_use'::text, NULL::idempotency_keys;
        RETURN;
    END IF;
    SELECT * INTO v_stored FROM idempotency_keys k WHERE k.user_id = p_user AND k.key = p_key;
    IF FOUND THEN
        IF v_stored.created_at >= p_cutoff THEN
            RETURN QUERY SELECT 'stored'::text, v_stored;
            RETURN;
        END IF;
        DELETE FROM idempotency_keys k WHERE k.user_id = p_user AND k.key = p_key;
    END IF;
    IF (SELECT count(*) FROM idempotency_keys k WHERE k.user_id = p_user) >= p_cap THEN
        DELETE FROM idempotency_keys k WHERE k.user_id = p_user AND k.created_at < p_cutoff;
        IF (SELECT count(*) FROM idempotency_keys k WHERE k.user_id = p_user) >= p_cap THEN
            RETURN QUERY SELECT 'full'::text, NULL::idempotency_keys;
            RETURN;
        END IF;
    END IF;
    RETURN QUERY SELECT 'free'::text, NULL::idempotency_keys;
END
$function$;
