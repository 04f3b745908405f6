-- A member reads a shared task's tag rows (its owner's, 000061) through the ids of the tasks in
-- their lists, read list by list. The policy asked `task_id IN (SELECT t.id FROM tasks t WHERE
-- t.list_id = ANY (the caller's lists))`: a subquery run once per statement, whose plan was the
-- planner's to choose. With bitmap scans off, as the list's page statement has them
-- (`task::query::branches`), it chose a sequential scan of every task of the table, with
-- statistics (an array of unknown length: ten lists assumed) and without them (after a bulk
-- load or a restore, before the first ANALYZE; issue 58), for each tag filter of a member that
-- met another owner's row: 1,059 pages and 15 ms at 50,000 tasks for a list of 125. Now
-- `app_member_task_ids()` reads each of the caller's lists by `tasks_list` (`list_id = <one
-- list>`: the index whatever the statistics say), once per statement and only when another
-- owner's row is met: 131 pages, 0.6 ms there. Same rows admitted: the tasks in the caller's
-- lists, which the tasks policy admits too.
CREATE FUNCTION app_member_task_ids() RETURNS SETOF bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
DECLARE
    v_list bigint;
BEGIN
    FOREACH v_list IN ARRAY app_member_lists() LOOP
        RETURN QUERY SELECT t.id FROM tasks t WHERE t.list_id = v_list;
    END LOOP;
END
$$;
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION app_member_task_ids() SET search_path = pg_catalog, %I, pg_temp',
                   current_schema());
END
$$;
REVOKE EXECUTE ON FUNCTION app_member_task_ids() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_member_task_ids() TO todo_api_app;
DROP POLICY viewer_select ON task_tags;
CREATE POLICY viewer_select ON task_tags FOR SELECT
    USING (user_id = NULLIF(current_setting('app.user_id', true), '')
           OR task_id IN (SELECT m.id FROM app_member_task_ids() AS m(id)));
