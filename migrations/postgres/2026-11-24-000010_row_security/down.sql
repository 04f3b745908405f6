-- The role stays: roles are cluster-wide, and other databases on the cluster may use it.
DO $$
DECLARE
    t TEXT;
    p TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['tasks', 'task_changes', 'task_sync_cursors'] LOOP
        FOREACH p IN ARRAY ARRAY['viewer_select', 'viewer_insert', 'viewer_update',
                                 'viewer_delete', 'owner_maintenance'] LOOP
            EXECUTE format('DROP POLICY IF EXISTS %I ON %I', p, t);
        END LOOP;
        EXECUTE format('ALTER TABLE %I NO FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I DISABLE ROW LEVEL SECURITY', t);
        EXECUTE format('REVOKE ALL ON %I FROM todo_api_app', t);
    END LOOP;
    EXECUTE format('REVOKE USAGE ON SEQUENCE %s FROM todo_api_app',
                   pg_get_serial_sequence('tasks', 'id'));
    EXECUTE format('REVOKE USAGE ON SCHEMA %I FROM todo_api_app', current_schema());
END
$$;
