-- The last position of a group of siblings, read as the tables' owner: `group_end.rs`' question
-- for `task_create_owned`.
CREATE OR REPLACE FUNCTION public.group_end(p_owner text, p_list bigint, p_parent bigint)
 RETURNS text LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
BEGIN
    IF p_owner IS DISTINCT FROM NULLIF(current_setting('app.user_id', true), '')
       AND (p_list IS NULL OR NOT p_list = ANY (app_member_lists())) THEN
        RETURN NULL;
    END IF;
    IF p_list IS NULL AND p_parent IS NULL THEN
        RETURN (SELECT max(position) FROM tasks
                WHERE user_id = p_owner AND list_id IS NULL AND parent_id IS NULL);
    ELSIF p_list IS NULL THEN
        RETURN (SELECT max(position) FROM tasks
                WHERE user_id = p_owner AND list_id IS NULL AND parent_id = p_parent);
    ELSIF p_parent IS NULL THEN
        RETURN (SELECT max(position) FROM tasks
                WHERE user_id = p_owner AND list_id = p_list AND parent_id IS NULL);
    END IF;
    RETURN (SELECT max(position) FROM tasks
            WHERE user_id = p_owner AND list_id = p_list AND parent_id = p_parent);
END
$function$;
