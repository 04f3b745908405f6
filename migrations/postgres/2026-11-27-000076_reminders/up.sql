-- Reminders (issue 43): when to remind a task's owner (and its assignee), and when the current
-- reminder fired (NULL while it is pending or when there is none). Firing is a maintenance job
-- of every instance (`tasks::reminders`): it claims due rows with FOR UPDATE SKIP LOCKED and
-- sets `reminded_at` in the transaction that records it, so each reminder fires once.
ALTER TABLE tasks ADD COLUMN remind_at timestamptz, ADD COLUMN reminded_at timestamptz;

-- The reminders waiting to fire, in the order they come due: a pending task's, not fired yet.
CREATE INDEX tasks_reminders_due ON tasks (remind_at)
    WHERE remind_at IS NOT NULL AND reminded_at IS NULL AND NOT completed;

-- Any writer (psql, another program) that moves a reminder re-arms it, as the server's own
-- writes do (they send `reminded_at` NULL with a new `remind_at`). The WHEN clause keeps the
-- function out of every other update.
CREATE FUNCTION tasks_rearm_reminder() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.reminded_at := NULL;
    RETURN NEW;
END
$$;
CREATE TRIGGER tasks_rearm_reminder BEFORE UPDATE ON tasks
    FOR EACH ROW
    WHEN (NEW.remind_at IS DISTINCT FROM OLD.remind_at AND NEW.reminded_at IS NOT NULL
          AND NEW.reminded_at IS NOT DISTINCT FROM OLD.reminded_at)
    EXECUTE FUNCTION tasks_rearm_reminder();
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION tasks_rearm_reminder() SET search_path = pg_catalog, %I, pg_temp',
                   current_schema());
END
$$;

-- The reminder job's claim (`tasks::reminders`, as the tables' owner): at most `p_batch`
-- reminders due at `p_now`, the earliest first, claimed FOR UPDATE SKIP LOCKED (a row another
-- instance holds is its to fire). Each is fired by a statement of its own, so that the
-- journal's payload for it carries its row (one statement over many owners would be one
-- payload naming each owner's range, and past about 200 owners a RESYNC for everyone), and
-- each gets its `reminder` payload (`tasks::events::wire`: to the owner and the assignee, the
-- row left out past 6,000 bytes), sent if and only if the transaction commits. One round
-- trip per batch. Returns the rows fired.
CREATE FUNCTION reminders_fire(p_now timestamp, p_batch integer, p_channel text)
    RETURNS SETOF tasks
    LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
    v_row tasks;
    v_json jsonb;
BEGIN
    FOR v_id IN SELECT t.id FROM tasks t
                 WHERE t.remind_at <= p_now AND t.reminded_at IS NULL AND NOT t.completed
                 ORDER BY t.remind_at LIMIT p_batch
                 FOR UPDATE SKIP LOCKED LOOP
        UPDATE tasks t SET reminded_at = p_now, updated_at = p_now
         WHERE t.id = v_id
        RETURNING * INTO v_row;
        v_json := to_jsonb(v_row) - 'title_key' - 'description_key';
        PERFORM pg_notify(p_channel, jsonb_build_object(
            'k', 'reminder', 'u', v_row.user_id, 'i', v_row.id,
            'to', array_remove(ARRAY[v_row.user_id, NULLIF(v_row.assignee_id, v_row.user_id)], NULL),
            'w', CASE WHEN octet_length(v_json::text) <= 6000 THEN v_json END)::text);
        RETURN NEXT v_row;
    END LOOP;
END
$$;
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION reminders_fire(timestamp, integer, text) '
                   'SET search_path = pg_catalog, %I, pg_temp', current_schema());
    REVOKE EXECUTE ON FUNCTION reminders_fire(timestamp, integer, text) FROM PUBLIC;
END
$$;

-- The write functions take the row whole (000073): restate them with the new columns.
SELECT task_store_restate();
