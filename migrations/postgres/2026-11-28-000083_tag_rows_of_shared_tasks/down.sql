DROP POLICY viewer_select ON task_tags;
CREATE POLICY viewer_select ON task_tags FOR SELECT
    USING (user_id = NULLIF(current_setting('app.user_id', true), '')
           OR task_id IN (SELECT t.id FROM tasks t
                          WHERE t.list_id = ANY ((SELECT app_member_lists())::bigint[])));
DROP FUNCTION app_member_task_ids();
