-- Whose task a write acts on: the actor's own, or its list owner's when the actor is an editor.
CREATE OR REPLACE FUNCTION public.task_writer(p_actor text, p_task bigint)
 RETURNS text
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
AS $function$
DECLARE
    v_owner text;
    v_role text;
BEGIN
    SELECT t.user_id, m.role INTO v_owner, v_role
    FROM tasks t JOIN list_members m ON m.list_id = t.list_id AND m.user_id = p_actor
    WHERE t.id = p_task AND t.user_id <> p_actor;
    IF NOT FOUND THEN
        RETURN p_actor;
    END IF;
    IF v_role = 'editor' THEN
        RETURN v_owner;
    END IF;
    RAISE EXCEPTION 'todo_api refused: forbidden';
END
$function$;
