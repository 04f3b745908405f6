-- Accepting an invite by its hash: the membership, under the list's cap (`invite_store.rs`).
CREATE OR REPLACE FUNCTION public.invite_accept(p_hash text, p_now timestamp without time zone, p_cap bigint)
 RETURNS TABLE(outcome text, list bigint) LANGUAGE plpgsql SECURITY DEFINER SET search_path TO 'pg_catalog', 'public', 'pg_temp' AS $function$
DECLARE
    v_user text := NULLIF(current_setting('app.user_id', true), '');
    v_list bigint;
    v_role text;
    v_owner text;
BEGIN
    IF v_user IS NULL THEN
        RETURN;
    END IF;
    SELECT i.list_id, i.role, l.user_id INTO v_list, v_role, v_owner
    FROM list_invites i JOIN task_lists l ON l.id = i.list_id
    WHERE i.token_hash = p_hash AND NOT i.revoked AND i.expires_at > p_now;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF v_owner = v_user OR EXISTS (SELECT 1 FROM list_members m
                                   WHERE m.list_id = v_list AND m.user_id = v_user) THEN
        RETURN QUERY SELECT 'member'::text, v_list;
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(
        (hashtextextended(v_owner, 0) & ((1::bigint << 62) - 1)) | (1::bigint << 62));
    -- A deletion of the list takes the same lock: under it, this statement (a snapshot of
    -- its own) sees the list gone when that deletion committed first, which is a 404 like
    -- an unknown token; otherwise the deletion waits for this transaction.
    PERFORM 1 FROM task_lists l WHERE l.id = v_list;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF (SELECT count(*) FROM list_members m WHERE m.list_id = v_list) >= p_cap THEN
        RAISE EXCEPTION 'todo_api refused: member_limit';
    END IF;
    INSERT INTO list_members (list_id, user_id, role, added_at)
    VALUES (v_list, v_user, v_role, p_now)
    ON CONFLICT (list_id, user_id) DO NOTHING;
    RETURN QUERY SELECT 'joined'::text, v_list;
END
$function$;
