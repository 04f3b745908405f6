-- Whose task a write acts on: the actor's own, or as `list_writer` says for another's task in a
-- list the actor shares (its owner's when the actor is an editor, refused for a viewer).
CREATE OR REPLACE FUNCTION public.task_writer(p_actor text, p_task bigint)
 RETURNS text LANGUAGE plpgsql STABLE SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
DECLARE
    v_list bigint;
BEGIN
    SELECT t.list_id INTO v_list FROM tasks t WHERE t.id = p_task AND t.user_id <> p_actor;
    IF v_list IS NULL THEN
        RETURN p_actor;
    END IF;
    RETURN list_writer(p_actor, v_list);
END
$function$;
