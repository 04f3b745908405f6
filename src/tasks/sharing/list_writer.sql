-- Whose list a create acts in: the actor's own, or its owner's when the actor is an editor.
CREATE OR REPLACE FUNCTION public.list_writer(p_actor text, p_list bigint)
 RETURNS text LANGUAGE plpgsql STABLE SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
DECLARE
    v_owner text;
    v_role text;
BEGIN
    SELECT l.user_id, m.role INTO v_owner, v_role
    FROM task_lists l JOIN list_members m ON m.list_id = l.id AND m.user_id = p_actor
    WHERE l.id = p_list AND l.user_id <> p_actor;
    IF NOT FOUND THEN
        RETURN p_actor;
    END IF;
    IF v_role = 'editor' THEN
        RETURN v_owner;
    END IF;
    RAISE EXCEPTION 'todo_api refused: forbidden';
END
$function$;
