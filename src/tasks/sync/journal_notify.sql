-- Journals a statement's rows (`journal_record`) and sends the NOTIFY `events::wire` reads.
CREATE OR REPLACE FUNCTION public.journal_notify(entity text, owners text[], ids bigint[], gone boolean[], born boolean[], one jsonb)
 RETURNS void LANGUAGE plpgsql SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
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
        PERFORM journal_send(payload, one);
    ELSE
        PERFORM journal_send(jsonb_build_object('k', 'batch', 'b', ranges)::text, NULL);
    END IF;
END
$function$;
