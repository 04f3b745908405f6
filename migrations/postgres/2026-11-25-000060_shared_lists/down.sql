DROP POLICY viewer_select ON tasks;
DROP POLICY viewer_insert ON tasks;
DROP POLICY viewer_update ON tasks;
DROP POLICY viewer_delete ON tasks;
CREATE POLICY viewer_select ON tasks FOR SELECT
    USING (user_id = NULLIF(current_setting('app.user_id', true), ''));
CREATE POLICY viewer_insert ON tasks FOR INSERT
    WITH CHECK (user_id = NULLIF(current_setting('app.user_id', true), ''));
CREATE POLICY viewer_update ON tasks FOR UPDATE
    USING (user_id = NULLIF(current_setting('app.user_id', true), ''))
    WITH CHECK (user_id = NULLIF(current_setting('app.user_id', true), ''));
CREATE POLICY viewer_delete ON tasks FOR DELETE
    USING (user_id = NULLIF(current_setting('app.user_id', true), ''));
DROP POLICY viewer_select ON task_lists;
CREATE POLICY viewer_select ON task_lists FOR SELECT
    USING (user_id = NULLIF(current_setting('app.user_id', true), ''));
DROP TABLE list_invites;
DROP TABLE list_members;
DROP FUNCTION app_member_lists();
DROP FUNCTION app_editor_lists();
DROP FUNCTION app_owned_lists();
