-- The counting functions' one refusal: a viewer (`app.user_id`) who may not count an owner's
-- rows (`may_count_for`) is refused; a session with no user (row security off) is not.
CREATE OR REPLACE FUNCTION public.refuse_unless_may_count(p_owner text)
 RETURNS void LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
BEGIN
    IF NOT may_count_for(p_owner) THEN
        RAISE EXCEPTION 'todo_api refused: forbidden';
    END IF;
END
$function$;
