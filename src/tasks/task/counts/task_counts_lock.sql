-- The placement locks of the owners a statement counts for, in one order (as `unit::locks`).
CREATE OR REPLACE FUNCTION public.task_counts_lock(p_owners text[])
 RETURNS void LANGUAGE plpgsql SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
DECLARE
    v_owner text;
BEGIN
    FOR v_owner IN SELECT DISTINCT o FROM unnest(p_owners) AS o ORDER BY o LOOP
        PERFORM pg_advisory_xact_lock(
            (hashtextextended(v_owner, 0) & ((1::bigint << 62) - 1)) | (1::bigint << 63));
    END LOOP;
END
$function$;
