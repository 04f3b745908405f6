-- A task's tag index rewritten (`store.rs`, the write functions), under the owner's tag cap.
CREATE OR REPLACE FUNCTION public.index_task_tags(p_owner text, p_task bigint, p_keys text[], p_names text[], p_at timestamp without time zone, p_cap bigint)
 RETURNS void LANGUAGE plpgsql SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
DECLARE
    brings_new boolean;
BEGIN
    brings_new := EXISTS (SELECT 1 FROM unnest(p_keys) AS k(key)
                          WHERE NOT EXISTS (SELECT 1 FROM task_tags t
                                            WHERE t.user_id = p_owner AND t.tag_key = k.key));
    DELETE FROM task_tags t WHERE t.user_id = p_owner AND t.task_id = p_task;
    INSERT INTO task_tags (user_id, task_id, tag_key, name, changed_at)
    SELECT p_owner, p_task, k.key, k.name, p_at FROM unnest(p_keys, p_names) AS k(key, name);
    IF brings_new THEN
        PERFORM owner_locks(p_owner);
        IF owner_tag_count(p_owner) > p_cap THEN
            RAISE EXCEPTION 'todo_api refused: tag_limit';
        END IF;
    END IF;
END
$function$;
