-- A member reads a shared task's tag rows (its owner's, 000061) by looking that one task up,
-- not by listing every task of their lists. The policy asked `task_id IN (SELECT t.id FROM
-- tasks t WHERE t.list_id = ANY (the caller's lists))`: a hashed subquery the planner runs
-- once, whose plan depends on the statistics of `tasks`. Without them (after a bulk load or a
-- restore, before the first ANALYZE; issue 58), and with bitmap scans off as the list's page
-- statement has them (`task::query::branches`), it was a sequential scan of every task of the
-- table for each tag filter of a member. Now each other owner's row the caller reads costs
-- one probe of the task's primary key (a task has one list), whatever the planner knows: a
-- row read pays for its own check, never for the table. The rows admitted are the same (the
-- task is read under its own policy either way).
DROP POLICY viewer_select ON task_tags;
CREATE POLICY viewer_select ON task_tags FOR SELECT
    USING (user_id = NULLIF(current_setting('app.user_id', true), '')
           OR (SELECT t.list_id FROM tasks t WHERE t.id = task_tags.task_id)
              = ANY ((SELECT app_member_lists())::bigint[]));
