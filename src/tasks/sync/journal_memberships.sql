-- Trigger (AFTER INSERT OR DELETE on list_members): the member is told its list and the list's
-- tasks came or went (`journal_notify`).
CREATE OR REPLACE FUNCTION public.journal_memberships()
 RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
DECLARE
    v_user text;
    v_list bigint;
    v_gone boolean := TG_OP = 'DELETE';
    v_ids bigint[];
BEGIN
    IF v_gone THEN
        v_user := OLD.user_id;
        v_list := OLD.list_id;
    ELSE
        v_user := NEW.user_id;
        v_list := NEW.list_id;
    END IF;
    SELECT array_agg(t.id ORDER BY t.id) INTO v_ids FROM tasks t WHERE t.list_id = v_list;
    IF v_ids IS NOT NULL THEN
        PERFORM journal_notify('task', array_fill(v_user, ARRAY[cardinality(v_ids)]), v_ids,
                               array_fill(v_gone, ARRAY[cardinality(v_ids)]),
                               array_fill(NOT v_gone, ARRAY[cardinality(v_ids)]), NULL);
    END IF;
    PERFORM journal_notify('list', ARRAY[v_user], ARRAY[v_list], ARRAY[v_gone],
                           ARRAY[NOT v_gone], NULL);
    RETURN NULL;
END
$function$;
