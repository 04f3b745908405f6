-- Row-level security: the second wall behind the store's `WHERE user_id = viewer`.
--
-- Every request's unit of work runs as `todo_api_app` (`SET LOCAL ROLE`, a role without
-- LOGIN, SUPERUSER or BYPASSRLS that owns nothing) with the viewer in the transaction-local
-- setting `app.user_id` (`set_config('app.user_id', …, true)`), in the same round trip as its
-- BEGIN (`db::transaction`). The policies below admit only that user's rows; an unset or
-- empty setting admits none and refuses every write (fail closed).
--
-- Roles are cluster-wide, so several databases on one cluster (the tests, staging beside
-- production) share `todo_api_app`: it is created only when missing (and a concurrent
-- creation by another database's migration is not an error); its grants are per database.
-- A database owner with CREATEROLE (Neon's connecting role) can run all of this: it creates
-- the role and makes itself a member, which `SET ROLE` needs when it is not a superuser.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'todo_api_app') THEN
        CREATE ROLE todo_api_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL; -- another database's migration created it first
END
$$;

DO $$
BEGIN
    IF NOT pg_has_role(current_user, 'todo_api_app', 'MEMBER') THEN
        EXECUTE format('GRANT todo_api_app TO %I', current_user);
    END IF;
EXCEPTION WHEN unique_violation THEN
    NULL; -- granted at the same moment by another database's migration
END
$$;

-- Just what the server's requests need: the per-user tables' rows and the task id sequence.
DO $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO todo_api_app', current_schema());
    EXECUTE format('GRANT USAGE ON SEQUENCE %s TO todo_api_app',
                   pg_get_serial_sequence('tasks', 'id'));
END
$$;
GRANT SELECT, INSERT, UPDATE, DELETE ON tasks, task_changes, task_sync_cursors TO todo_api_app;

-- The viewer policies, one per command on each per-user table (a later per-user table gets
-- the same four). They apply to every role but the owner's maintenance policy below.
ALTER TABLE tasks ENABLE ROW LEVEL SECURITY;
ALTER TABLE tasks FORCE ROW LEVEL SECURITY;
CREATE POLICY viewer_select ON tasks FOR SELECT
    USING (user_id = NULLIF(current_setting('app.user_id', true), ''));
CREATE POLICY viewer_insert ON tasks FOR INSERT
    WITH CHECK (user_id = NULLIF(current_setting('app.user_id', true), ''));
CREATE POLICY viewer_update ON tasks FOR UPDATE
    USING (user_id = NULLIF(current_setting('app.user_id', true), ''))
    WITH CHECK (user_id = NULLIF(current_setting('app.user_id', true), ''));
CREATE POLICY viewer_delete ON tasks FOR DELETE
    USING (user_id = NULLIF(current_setting('app.user_id', true), ''));

ALTER TABLE task_changes ENABLE ROW LEVEL SECURITY;
ALTER TABLE task_changes FORCE ROW LEVEL SECURITY;
CREATE POLICY viewer_select ON task_changes FOR SELECT
    USING (user_id = NULLIF(current_setting('app.user_id', true), ''));
CREATE POLICY viewer_insert ON task_changes FOR INSERT
    WITH CHECK (user_id = NULLIF(current_setting('app.user_id', true), ''));
CREATE POLICY viewer_update ON task_changes FOR UPDATE
    USING (user_id = NULLIF(current_setting('app.user_id', true), ''))
    WITH CHECK (user_id = NULLIF(current_setting('app.user_id', true), ''));
CREATE POLICY viewer_delete ON task_changes FOR DELETE
    USING (user_id = NULLIF(current_setting('app.user_id', true), ''));

ALTER TABLE task_sync_cursors ENABLE ROW LEVEL SECURITY;
ALTER TABLE task_sync_cursors FORCE ROW LEVEL SECURITY;
CREATE POLICY viewer_select ON task_sync_cursors FOR SELECT
    USING (user_id = NULLIF(current_setting('app.user_id', true), ''));
CREATE POLICY viewer_insert ON task_sync_cursors FOR INSERT
    WITH CHECK (user_id = NULLIF(current_setting('app.user_id', true), ''));
CREATE POLICY viewer_update ON task_sync_cursors FOR UPDATE
    USING (user_id = NULLIF(current_setting('app.user_id', true), ''))
    WITH CHECK (user_id = NULLIF(current_setting('app.user_id', true), ''));
CREATE POLICY viewer_delete ON task_sync_cursors FOR DELETE
    USING (user_id = NULLIF(current_setting('app.user_id', true), ''));

-- FORCE subjects the owner to the policies too; this one lets the owner (the role these
-- migrations run as) see every row, for the jobs that must: later migrations, the search-key
-- backfill, the tombstone prune and the readiness probe (`UnitOfWork::maintenance`). It names
-- the owner only: `todo_api_app` is not a member of it, so requests never get it. A superuser
-- or BYPASSRLS owner passes the policies anyway.
DO $$
DECLARE
    t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['tasks', 'task_changes', 'task_sync_cursors'] LOOP
        EXECUTE format('CREATE POLICY owner_maintenance ON %I TO %I USING (true) WITH CHECK (true)',
                       t, current_user);
    END LOOP;
END
$$;
