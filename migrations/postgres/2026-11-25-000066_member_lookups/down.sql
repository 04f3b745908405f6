CREATE OR REPLACE FUNCTION app_member_lists() RETURNS bigint[]
    LANGUAGE sql STABLE SECURITY DEFINER AS $$
    SELECT coalesce(array_agg(m.list_id), '{}') FROM list_members m
    WHERE m.user_id = NULLIF(current_setting('app.user_id', true), '')
$$;
CREATE OR REPLACE FUNCTION app_editor_lists() RETURNS bigint[]
    LANGUAGE sql STABLE SECURITY DEFINER AS $$
    SELECT coalesce(array_agg(m.list_id), '{}') FROM list_members m
    WHERE m.user_id = NULLIF(current_setting('app.user_id', true), '') AND m.role = 'editor'
$$;
CREATE OR REPLACE FUNCTION app_owned_lists() RETURNS bigint[]
    LANGUAGE sql STABLE SECURITY DEFINER AS $$
    SELECT coalesce(array_agg(l.id), '{}') FROM task_lists l
    WHERE l.user_id = NULLIF(current_setting('app.user_id', true), '')
$$;
DO $$
DECLARE
    f TEXT;
BEGIN
    FOREACH f IN ARRAY ARRAY['app_member_lists()', 'app_editor_lists()', 'app_owned_lists()'] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, %I, pg_temp', f, current_schema());
    END LOOP;
END
$$;
