-- The membership helpers of the policies (000066) and the count guard of 000064 read the
-- caller once into a variable, then look their rows up by it. Written inline in the WHERE
-- clause, `NULLIF(current_setting('app.user_id', true), '')` is a filter the planner cannot
-- fold: on a table small enough for a sequential scan (most deployments' `list_members` and
-- `task_lists`) it was called for every row, every time a policy ran (three times per list
-- statement: ~50 µs each with 200 memberships; benches/README.md "Issue 29"). Same results,
-- same owner, same search_path.
--
-- And `list_members`' read policy admits the caller's own membership rows first: they are
-- what the server's visibility filter reads on every task statement (`list_id = ANY (the
-- caller's lists)`), and an InitPlan runs only when its value is first needed, so neither
-- helper runs for them (nor at all for a user without memberships). The rows admitted are
-- the same: one's own membership row is in one of one's lists.
DROP POLICY viewer_select ON list_members;
CREATE POLICY viewer_select ON list_members FOR SELECT
    USING (user_id = NULLIF(current_setting('app.user_id', true), '')
           OR list_id = ANY ((SELECT app_owned_lists())::bigint[])
           OR list_id = ANY ((SELECT app_member_lists())::bigint[]));
CREATE OR REPLACE FUNCTION app_member_lists() RETURNS bigint[]
    LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
DECLARE
    v_user text := NULLIF(current_setting('app.user_id', true), '');
BEGIN
    RETURN (SELECT coalesce(array_agg(m.list_id), '{}') FROM list_members m
            WHERE m.user_id = v_user);
END
$$;
CREATE OR REPLACE FUNCTION app_editor_lists() RETURNS bigint[]
    LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
DECLARE
    v_user text := NULLIF(current_setting('app.user_id', true), '');
BEGIN
    RETURN (SELECT coalesce(array_agg(m.list_id), '{}') FROM list_members m
            WHERE m.user_id = v_user AND m.role = 'editor');
END
$$;
CREATE OR REPLACE FUNCTION app_owned_lists() RETURNS bigint[]
    LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
DECLARE
    v_user text := NULLIF(current_setting('app.user_id', true), '');
BEGIN
    RETURN (SELECT coalesce(array_agg(l.id), '{}') FROM task_lists l WHERE l.user_id = v_user);
END
$$;
CREATE OR REPLACE FUNCTION may_count_for(p_owner text) RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
DECLARE
    v_user text := NULLIF(current_setting('app.user_id', true), '');
BEGIN
    RETURN p_owner = v_user
        OR EXISTS (SELECT 1 FROM list_members m JOIN task_lists l ON l.id = m.list_id
                   WHERE m.user_id = v_user AND m.role = 'editor' AND l.user_id = p_owner);
END
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
