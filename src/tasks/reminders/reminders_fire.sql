-- Fires due reminders in a batch, as the maintenance job asks (`store.rs`).
CREATE OR REPLACE FUNCTION public.reminders_fire(p_now timestamp without time zone, p_batch integer, p_channel text)
 RETURNS SETOF tasks LANGUAGE plpgsql SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
DECLARE
    v_id bigint;
    v_row tasks;
    v_json jsonb;
BEGIN
    FOR v_id IN SELECT t.id FROM tasks t
                 WHERE t.remind_at <= p_now AND t.reminded_at IS NULL AND NOT t.completed
                 ORDER BY t.remind_at LIMIT p_batch
                 FOR UPDATE SKIP LOCKED LOOP
        UPDATE tasks t SET reminded_at = p_now, updated_at = p_now
         WHERE t.id = v_id
        RETURNING * INTO v_row;
        v_json := to_jsonb(v_row) - 'title_key' - 'description_key';
        PERFORM pg_notify(p_channel, jsonb_build_object(
            'k', 'reminder', 'u', v_row.user_id, 'i', v_row.id,
            'to', array_remove(ARRAY[v_row.user_id, NULLIF(v_row.assignee_id, v_row.user_id)], NULL),
            'w', CASE WHEN octet_length(v_json::text) <= 6000 THEN v_json END)::text);
        RETURN NEXT v_row;
    END LOOP;
END
$function$;
