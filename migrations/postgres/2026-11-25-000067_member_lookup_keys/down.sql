-- Back to 000060's read policy on list_members, 000066's helpers and 000064's count guard.
DROP POLICY viewer_select ON list_members;
CREATE POLICY viewer_select ON list_members FOR SELECT
    USING (list_id = ANY ((SELECT app_owned_lists())::bigint[]) OR list_id = ANY ((SELECT app_member_lists())::bigint[]));
CREATE OR REPLACE FUNCTION app_member_lists() RETURNS bigint[]
    LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
BEGIN
    RETURN (SELECT coalesce(array_agg(m.list_id), '{}') FROM list_members m
            WHERE m.user_id = NULLIF(current_setting('app.user_id', true), ''));
END
$$;
CREATE OR REPLACE FUNCTION app_editor_lists() RETURNS bigint[]
    LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
BEGIN
    RETURN (SELECT coalesce(array_agg(m.list_id), '{}') FROM list_members m
            WHERE m.user_id = NULLIF(current_setting('app.user_id', true), '')
              AND m.role = 'editor');
END
$$;
CREATE OR REPLACE FUNCTION app_owned_lists() RETURNS bigint[]
    LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
BEGIN
    RETURN (SELECT coalesce(array_agg(l.id), '{}') FROM task_lists l
            WHERE l.user_id = NULLIF(current_setting('app.user_id', true), ''));
END
$$;
CREATE OR REPLACE FUNCTION may_count_for(p_owner text) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER AS $$
    SELECT p_owner = NULLIF(current_setting('app.user_id', true), '')
        OR EXISTS (SELECT 1 FROM list_members m JOIN task_lists l ON l.id = m.list_id
                   WHERE m.user_id = NULLIF(current_setting('app.user_id', true), '')
                     AND m.role = 'editor' AND l.user_id = p_owner)
$$;
DO $$
DECLARE
    f TEXT;
BEGIN
    FOREACH f IN ARRAY ARRAY['app_member_lists()', 'app_editor_lists()', 'app_owned_lists()',
                             'may_count_for(text)'] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, %I, pg_temp', f, current_schema());
    END LOOP;
END
$$;
