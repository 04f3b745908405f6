-- The owner's lists lock and placement lock, in `locks.rs`' order.
CREATE OR REPLACE FUNCTION public.owner_locks(p_owner text)
 RETURNS void LANGUAGE plpgsql SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
BEGIN
    PERFORM pg_advisory_xact_lock(
                (hashtextextended(p_owner, 0) & ((1::bigint << 62) - 1)) | (1::bigint << 62)),
            pg_advisory_xact_lock(
                (hashtextextended(p_owner, 0) & ((1::bigint << 62) - 1)) | (1::bigint << 63));
END
$function$;
