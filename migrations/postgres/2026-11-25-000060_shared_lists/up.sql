-- Shared lists (issue 29): a list's members and invite links, and row security widened from
-- "the owner" to "the owner and the list's members" (DESIGN rule 3: `tasks::visibility` and
-- these policies say the same thing and grow together).
--
-- A list still has one owner, `task_lists.user_id` (not stored again here), and a task in a
-- shared list keeps the owner's `user_id`. A member is `editor` (tasks: create, update,
-- complete, move, delete) or `viewer` (read only). Deleting a list takes its members and
-- invites with it.
CREATE TABLE list_members (
    list_id  BIGINT      NOT NULL REFERENCES task_lists (id) ON DELETE CASCADE,
    user_id  TEXT        NOT NULL,
    role     TEXT        NOT NULL CHECK (role IN ('editor', 'viewer')),
    added_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (list_id, user_id)
);
-- A user's memberships: what every read of theirs looks up (once per statement).
CREATE INDEX list_members_user ON list_members (user_id, list_id);

-- Invite links: the token is shown once, to the owner who makes it; only its SHA-256 (hex)
-- is kept, so the table never holds a usable link.
CREATE TABLE list_invites (
    token_hash TEXT        PRIMARY KEY,
    list_id    BIGINT      NOT NULL REFERENCES task_lists (id) ON DELETE CASCADE,
    role       TEXT        NOT NULL CHECK (role IN ('editor', 'viewer')),
    created_by TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked    BOOLEAN     NOT NULL DEFAULT FALSE
);
CREATE INDEX list_invites_list ON list_invites (list_id, created_at);

-- The caller's lists by role, for the policies. SECURITY DEFINER (its owner's maintenance
-- policy admits every row) so that no policy on list_members is evaluated from a policy on
-- list_members (no recursion), STABLE, and called as `= ANY ((SELECT app_…()))`: an
-- uncorrelated scalar subquery (cast, so that ANY reads it as one array), so PostgreSQL runs
-- it once per statement (an InitPlan), not per row.
CREATE FUNCTION app_member_lists() RETURNS bigint[]
    LANGUAGE sql STABLE SECURITY DEFINER AS $$
    SELECT coalesce(array_agg(m.list_id), '{}') FROM list_members m
    WHERE m.user_id = NULLIF(current_setting('app.user_id', true), '')
$$;
CREATE FUNCTION app_editor_lists() RETURNS bigint[]
    LANGUAGE sql STABLE SECURITY DEFINER AS $$
    SELECT coalesce(array_agg(m.list_id), '{}') FROM list_members m
    WHERE m.user_id = NULLIF(current_setting('app.user_id', true), '') AND m.role = 'editor'
$$;
CREATE FUNCTION app_owned_lists() RETURNS bigint[]
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
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO todo_api_app', f);
    END LOOP;
END
$$;

-- Members: a member sees the list's other members; the owner adds, changes and removes
-- them; a member removes themself (leaves).
GRANT SELECT, INSERT, UPDATE, DELETE ON list_members, list_invites TO todo_api_app;
ALTER TABLE list_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE list_members FORCE ROW LEVEL SECURITY;
CREATE POLICY viewer_select ON list_members FOR SELECT
    USING (list_id = ANY ((SELECT app_owned_lists())::bigint[]) OR list_id = ANY ((SELECT app_member_lists())::bigint[]));
CREATE POLICY viewer_insert ON list_members FOR INSERT
    WITH CHECK (list_id = ANY ((SELECT app_owned_lists())::bigint[]));
CREATE POLICY viewer_update ON list_members FOR UPDATE
    USING (list_id = ANY ((SELECT app_owned_lists())::bigint[]))
    WITH CHECK (list_id = ANY ((SELECT app_owned_lists())::bigint[]));
CREATE POLICY viewer_delete ON list_members FOR DELETE
    USING (list_id = ANY ((SELECT app_owned_lists())::bigint[])
           OR user_id = NULLIF(current_setting('app.user_id', true), ''));

-- Invites: the list's owner only (accepting one goes through `invite_accept`, later).
ALTER TABLE list_invites ENABLE ROW LEVEL SECURITY;
ALTER TABLE list_invites FORCE ROW LEVEL SECURITY;
CREATE POLICY viewer_all ON list_invites
    USING (list_id = ANY ((SELECT app_owned_lists())::bigint[]))
    WITH CHECK (list_id = ANY ((SELECT app_owned_lists())::bigint[]));

DO $$
DECLARE
    t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['list_members', 'list_invites'] LOOP
        EXECUTE format('CREATE POLICY owner_maintenance ON %I TO %I USING (true) WITH CHECK (true)',
                       t, current_user);
    END LOOP;
END
$$;
GRANT SELECT ON list_members TO todo_api_journal;
CREATE POLICY journal_reads ON list_members FOR SELECT TO todo_api_journal USING (true);

-- Lists: the owner's, and the ones the caller is a member of (read only: a member never
-- renames, moves or deletes a list).
DROP POLICY viewer_select ON task_lists;
CREATE POLICY viewer_select ON task_lists FOR SELECT
    USING (user_id = NULLIF(current_setting('app.user_id', true), '')
           OR id = ANY ((SELECT app_member_lists())::bigint[]));

-- Tasks: read by the owner and every member of the task's list; written by the owner and the
-- list's editors (the row keeps the owner's user_id: the WITH CHECK admits it for an editor).
DROP POLICY viewer_select ON tasks;
DROP POLICY viewer_insert ON tasks;
DROP POLICY viewer_update ON tasks;
DROP POLICY viewer_delete ON tasks;
CREATE POLICY viewer_select ON tasks FOR SELECT
    USING (user_id = NULLIF(current_setting('app.user_id', true), '')
           OR list_id = ANY ((SELECT app_member_lists())::bigint[]));
CREATE POLICY viewer_insert ON tasks FOR INSERT
    WITH CHECK (user_id = NULLIF(current_setting('app.user_id', true), '')
                OR list_id = ANY ((SELECT app_editor_lists())::bigint[]));
CREATE POLICY viewer_update ON tasks FOR UPDATE
    USING (user_id = NULLIF(current_setting('app.user_id', true), '')
           OR list_id = ANY ((SELECT app_editor_lists())::bigint[]))
    WITH CHECK (user_id = NULLIF(current_setting('app.user_id', true), '')
                OR list_id = ANY ((SELECT app_editor_lists())::bigint[]));
CREATE POLICY viewer_delete ON tasks FOR DELETE
    USING (user_id = NULLIF(current_setting('app.user_id', true), '')
           OR list_id = ANY ((SELECT app_editor_lists())::bigint[]));
