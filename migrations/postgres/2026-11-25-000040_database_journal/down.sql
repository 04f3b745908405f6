DROP TRIGGER task_lists_journal_truncate ON task_lists;
DROP TRIGGER task_lists_journal_delete ON task_lists;
DROP TRIGGER task_lists_journal_update ON task_lists;
DROP TRIGGER task_lists_journal_insert ON task_lists;
DROP TRIGGER tasks_journal_truncate ON tasks;
DROP TRIGGER tasks_journal_delete ON tasks;
DROP TRIGGER tasks_journal_update ON tasks;
DROP TRIGGER tasks_journal_insert ON tasks;
DROP TRIGGER tasks_place ON tasks;
DROP TRIGGER task_lists_version ON task_lists;
DROP TRIGGER tasks_version ON tasks;
DROP FUNCTION journal_changes();
DROP FUNCTION journal_notify(text, text[], bigint[], boolean[], boolean[], jsonb);
DROP FUNCTION journal_record(text, text[], bigint[], boolean[], boolean[]);
DROP FUNCTION tasks_place();
DROP FUNCTION position_after(text);
DROP FUNCTION bump_version();
ALTER TABLE tasks ALTER COLUMN position SET DEFAULT '80';
DO $$
DECLARE
    t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['tasks', 'task_lists'] LOOP
        EXECUTE format('DROP POLICY journal_reads ON %I', t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['task_changes', 'task_sync_cursors'] LOOP
        EXECUTE format('DROP POLICY journal_keeps ON %I', t);
    END LOOP;
END
$$;
REVOKE ALL ON tasks, task_lists, task_changes, task_sync_cursors FROM todo_api_journal;
DO $$
BEGIN
    EXECUTE format('REVOKE ALL ON SEQUENCE %s, %s FROM todo_api_journal',
                   pg_get_serial_sequence('tasks', 'id'), pg_get_serial_sequence('task_lists', 'id'));
END
$$;
DROP TABLE list_changes;
-- Reused ids may now have several owners' entries: keep each id's newest.
DELETE FROM task_changes a USING task_changes b WHERE a.task_id = b.task_id AND a.seq < b.seq;
ALTER TABLE task_changes DROP CONSTRAINT task_changes_pkey;
ALTER TABLE task_changes ADD PRIMARY KEY (task_id);
