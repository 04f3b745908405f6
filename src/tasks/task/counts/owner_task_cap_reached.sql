-- Whether an owner is at the task cap: `task_create_owned`'s check, the count repaired when it
-- must.
CREATE OR REPLACE FUNCTION public.owner_task_cap_reached(p_owner text, p_cap bigint)
 RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
DECLARE
    v_n bigint;
BEGIN
    PERFORM refuse_unless_may_count(p_owner);
    v_n := coalesce((SELECT c.n FROM task_counts c WHERE c.user_id = p_owner), 0);
    IF v_n >= 0 AND v_n < p_cap THEN
        RETURN false;
    END IF;
    v_n := (SELECT count(*) FROM tasks t WHERE t.user_id = p_owner);
    INSERT INTO task_counts AS c (user_id, n) VALUES (p_owner, v_n)
    ON CONFLICT (user_id) DO UPDATE SET n = EXCLUDED.n;
    RETURN v_n >= p_cap;
END
$function$;
