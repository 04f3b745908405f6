-- The create a request makes (`folded::create`): checks who may write to the list, then
-- `task_create_owned`.
CREATE OR REPLACE FUNCTION public.task_create(p jsonb)
 RETURNS SETOF tasks LANGUAGE plpgsql SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
DECLARE
    v_owner text := p->>'owner';
    v_list bigint := (p->'task'->>'list_id')::bigint;
    v_parent bigint := (p->'task'->>'parent_id')::bigint;
BEGIN
    IF v_parent IS NOT NULL THEN
        v_owner := task_writer(v_owner, v_parent);
    ELSIF v_list IS NOT NULL THEN
        v_owner := list_writer(v_owner, v_list);
    END IF;
    RETURN QUERY SELECT * FROM task_create_owned(v_owner, p);
END
$function$;
