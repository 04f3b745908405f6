-- An owner's distinct tags, for the tag cap (a skip scan of `task_tags`' owner index).
CREATE OR REPLACE FUNCTION public.owner_tag_count(p_owner text)
 RETURNS bigint LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
BEGIN
    PERFORM refuse_unless_may_count(p_owner);
    RETURN (
        WITH RECURSIVE k(key) AS (
            (SELECT t.tag_key FROM task_tags t WHERE t.user_id = p_owner
             ORDER BY t.tag_key LIMIT 1)
            UNION ALL
            SELECT (SELECT t.tag_key FROM task_tags t
                    WHERE t.user_id = p_owner AND t.tag_key > k.key
                    ORDER BY t.tag_key LIMIT 1)
            FROM k WHERE k.key IS NOT NULL)
        SELECT count(k.key) FROM k);
END
$function$;
