-- The caller's memberships (000060's helpers, which every policy on tasks, lists, members and
-- tags reads once per statement) in PL/pgSQL instead of SQL: a SECURITY DEFINER SQL function
-- is never inlined, and its body is planned again on every call (each statement); PL/pgSQL
-- keeps its plan for the session. Measured (benches/README.md, "Issue 29"): a member's list
-- spent more time planning these than running its own query. Same results, same owner.
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
DO $$
DECLARE
    f TEXT;
BEGIN
    FOREACH f IN ARRAY ARRAY['app_member_lists()', 'app_editor_lists()', 'app_owned_lists()'] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, %I, pg_temp', f, current_schema());
    END LOOP;
END
$$;
