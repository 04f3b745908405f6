-- One statement per plain task write (issue 28, DESIGN rules 6 and 14). A create, an update,
-- a completion (toggle or set) and a delete are each ONE call of a function below, which
-- takes the owner's advisory locks, checks the list, the parent, the caps and the write's
-- precondition, places the task, writes it and its tag index, and (a delete) prunes old
-- tombstones: the server used to wait for each of those statements in turn (4 to 10 for a
-- create, 7 for a delete). The journal, change counter, version and NOTIFY stay the
-- triggers' (000040); `tasks::store::folded` calls these, SQLite takes the same steps one
-- statement at a time (`tasks::store::stepwise`), in process. A keyed write's claim on its
-- idempotency key is one statement too (`idempotency_claim`).
--
-- The rules stay the server's. Each function is given the limits (caps, depth, the longest
-- position) and what the server computed (tag keys, the tags' JSON, ranks), and where a rule
-- needs Rust it writes nothing and hands the task back, held (`FOR UPDATE`), for the server to
-- finish in one more statement: a repeating task's next occurrence, a move, a create whose
-- key at the end of its group would be too long (the group is renumbered first).
--
-- They run as their caller (SECURITY INVOKER: `todo_api_app` under row security, so the
-- policies bind every statement here as they bind the server's own), and still filter by
-- owner as the store does (`tasks::visibility`: widen both together). A refusal is an
-- exception whose message is `todo_api refused: <code>[ <number>]`, read in one place
-- (`tasks::store::folded::refusal`). A precondition (If-Match, expectedVersion) is the
-- versions it admits; NULL admits any.

-- The owner's lists lock, then their placement lock (one order: `tasks::store::locks`, whose
-- keys these are: top bits `01` and `10`, then 62 bits of `hashtextextended(owner, 0)`;
-- `tasks_place` (000040) takes the second the same way; keep the three the same).
CREATE FUNCTION owner_locks(p_owner text) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(
                (hashtextextended(p_owner, 0) & ((1::bigint << 62) - 1)) | (1::bigint << 62)),
            pg_advisory_xact_lock(
                (hashtextextended(p_owner, 0) & ((1::bigint << 62) - 1)) | (1::bigint << 63));
END
$$;

-- The last position in the owner's group (list, parent), NULL for an empty group. One query
-- per case, so that each is a range of `tasks_user_group` (`IS NOT DISTINCT FROM` is not).
CREATE FUNCTION group_end(p_owner text, p_list bigint, p_parent bigint) RETURNS text
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF p_list IS NULL AND p_parent IS NULL THEN
        RETURN (SELECT max(position) FROM tasks
                WHERE user_id = p_owner AND list_id IS NULL AND parent_id IS NULL);
    ELSIF p_list IS NULL THEN
        RETURN (SELECT max(position) FROM tasks
                WHERE user_id = p_owner AND list_id IS NULL AND parent_id = p_parent);
    ELSIF p_parent IS NULL THEN
        RETURN (SELECT max(position) FROM tasks
                WHERE user_id = p_owner AND list_id = p_list AND parent_id IS NULL);
    END IF;
    RETURN (SELECT max(position) FROM tasks
            WHERE user_id = p_owner AND list_id = p_list AND parent_id = p_parent);
END
$$;

-- Rewrites one task's rows of the tag index (`p_keys` lower-cased by the server, `p_names` as
-- spelled) and, when they bring a key none of the owner's tasks had, refuses a total of
-- distinct keys over `p_cap`, counted under the placement lock so that two such writes count
-- one after the other (`tasks::store::tags`).
CREATE FUNCTION index_task_tags(p_owner text, p_task bigint, p_keys text[], p_names text[],
                                p_at timestamp, p_cap bigint) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    brings_new boolean;
BEGIN
    brings_new := EXISTS (SELECT 1 FROM unnest(p_keys) AS k(key)
                          WHERE NOT EXISTS (SELECT 1 FROM task_tags t
                                            WHERE t.user_id = p_owner AND t.tag_key = k.key));
    DELETE FROM task_tags t WHERE t.user_id = p_owner AND t.task_id = p_task;
    INSERT INTO task_tags (user_id, task_id, tag_key, name, changed_at)
    SELECT p_owner, p_task, k.key, k.name, p_at FROM unnest(p_keys, p_names) AS k(key, name);
    IF brings_new THEN
        PERFORM owner_locks(p_owner);
        IF (SELECT count(DISTINCT t.tag_key) FROM task_tags t WHERE t.user_id = p_owner) > p_cap THEN
            RAISE EXCEPTION 'todo_api refused: tag_limit';
        END IF;
    END IF;
END
$$;

-- A create (`TaskService::create`): the list must be the owner's; a subtask's parent too, at
-- most at level `p_max_depth` - 1 (walking up; a chain longer than the rules allow counts as
-- a cycle, level -1), and the subtask takes its list; the task goes after the last of its
-- group (`position_after`, the server's key, unless the server gives `p_position`); at most
-- `p_task_cap` tasks per owner. Returns the row, or nothing (and writes nothing) when the
-- group's last key is not one the server wrote or the next one would pass `p_max_position`
-- characters: the server then renumbers the group and calls again with `p_position`.
CREATE FUNCTION task_create(
    p_owner text, p_title text, p_description text, p_priority smallint, p_category text,
    p_due timestamp, p_list bigint, p_parent bigint, p_position text, p_tags text,
    p_tag_keys text[], p_tag_names text[], p_recurrence text, p_time_zone text,
    p_now timestamp, p_task_cap bigint, p_tag_cap bigint, p_max_depth int,
    p_max_position int)
    RETURNS SETOF tasks
    LANGUAGE plpgsql AS $$
DECLARE
    v_list bigint := p_list;
    v_parent tasks;
    v_up bigint;
    v_level int;
    v_end text;
    v_position text := p_position;
    v_row tasks;
BEGIN
    PERFORM owner_locks(p_owner);
    IF p_list IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM task_lists l WHERE l.id = p_list AND l.user_id = p_owner) THEN
        RAISE EXCEPTION 'todo_api refused: list_not_found';
    END IF;
    IF p_parent IS NOT NULL THEN
        SELECT * INTO v_parent FROM tasks t WHERE t.id = p_parent AND t.user_id = p_owner;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'todo_api refused: not_found';
        END IF;
        v_level := 1;
        v_up := v_parent.parent_id;
        WHILE v_up IS NOT NULL LOOP
            IF v_up = 0 OR v_level > p_max_depth + 1 THEN
                v_level := -1;
                EXIT;
            END IF;
            SELECT t.parent_id INTO v_up FROM tasks t WHERE t.id = v_up AND t.user_id = p_owner;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'todo_api refused: not_found';
            END IF;
            v_level := v_level + 1;
        END LOOP;
        IF v_level = -1 OR v_level >= p_max_depth THEN
            RAISE EXCEPTION 'todo_api refused: too_deep %', v_level;
        END IF;
        IF p_list IS NOT NULL AND p_list IS DISTINCT FROM v_parent.list_id THEN
            RAISE EXCEPTION 'todo_api refused: subtask_list';
        END IF;
        v_list := v_parent.list_id;
    END IF;
    IF v_position IS NULL THEN
        v_end := group_end(p_owner, v_list, p_parent);
        IF v_end IS NULL THEN
            v_position := '80';
        ELSIF v_end ~ '^([0-9a-f]{2})+$' AND right(v_end, 2) = '80' THEN
            v_position := position_after(v_end);
        END IF;
        IF v_position IS NULL OR length(v_position) > p_max_position THEN
            RETURN;
        END IF;
    END IF;
    IF (SELECT count(*) FROM tasks t WHERE t.user_id = p_owner) >= p_task_cap THEN
        RAISE EXCEPTION 'todo_api refused: task_limit';
    END IF;
    INSERT INTO tasks (user_id, title, description, completed, created_at, updated_at, priority,
                       category, due_date, list_id, parent_id, position, tags, recurrence,
                       time_zone, recurrence_start)
    VALUES (p_owner, p_title, p_description, false, p_now, p_now, p_priority, p_category, p_due,
            v_list, p_parent, v_position, p_tags, p_recurrence, p_time_zone,
            CASE WHEN p_recurrence IS NOT NULL THEN p_due END)
    RETURNING * INTO v_row;
    IF cardinality(p_tag_keys) > 0 THEN
        PERFORM index_task_tags(p_owner, v_row.id, p_tag_keys, p_tag_names, p_now, p_tag_cap);
    END IF;
    RETURN NEXT v_row;
END
$$;

-- An update (`TaskService::update`), given the columns to set (`p_set_*` say whether a
-- nullable one is set; NULL leaves the others). First call (`p_decided` false): a patch naming
-- a list or parent takes the owner's locks before the row's; a conditional one, one touching
-- the series (recurrence, time zone, due date, completing) or naming a list or parent reads
-- the row held. Then: 'conflict' and the row when the precondition fails; 'held' and the row,
-- nothing written, when the server must decide (a move to another list or parent; the series
-- of a task that repeats, or will); otherwise the write, where a task that does not repeat
-- has its series anchor cleared when the series was touched. Second call (`p_decided`, the
-- server having planned the series and the placement with the row held): the write as given.
-- 'done' and the row written; nothing when the owner has no such task. Its tags (`p_tags`,
-- the JSON, with keys and names) are indexed under `p_tag_cap`.
CREATE FUNCTION task_update(
    p_owner text, p_id bigint, p_expect bigint[], p_now timestamp, p_decided boolean,
    p_title text, p_set_description boolean, p_description text, p_completed boolean,
    p_priority smallint, p_category text, p_set_due boolean, p_due timestamp,
    p_set_recurrence boolean, p_recurrence text, p_time_zone text,
    p_set_start boolean, p_start timestamp, p_advance_to timestamp,
    p_tags text, p_tag_keys text[], p_tag_names text[], p_tag_cap bigint,
    p_set_list boolean, p_list bigint, p_set_parent boolean, p_parent bigint,
    p_position text)
    RETURNS TABLE (step text, task tasks)
    LANGUAGE plpgsql AS $$
DECLARE
    v_row tasks;
    v_placing boolean := p_set_list OR p_set_parent;
    v_touches boolean := p_set_recurrence OR p_time_zone IS NOT NULL OR p_set_due
                         OR p_completed IS TRUE;
    v_set_list boolean := p_set_list;
    v_set_parent boolean := p_set_parent;
    v_set_start boolean := p_set_start;
    v_start timestamp := p_start;
BEGIN
    IF NOT p_decided THEN
        IF v_placing THEN
            PERFORM owner_locks(p_owner);
        END IF;
        IF p_expect IS NOT NULL OR v_touches OR v_placing THEN
            SELECT * INTO v_row FROM tasks t WHERE t.id = p_id AND t.user_id = p_owner FOR UPDATE;
            IF NOT FOUND THEN
                RETURN;
            END IF;
            IF p_expect IS NOT NULL AND NOT v_row.version = ANY (p_expect) THEN
                RETURN QUERY SELECT 'conflict'::text, v_row;
                RETURN;
            END IF;
            IF (p_set_list AND p_list IS DISTINCT FROM v_row.list_id)
               OR (p_set_parent AND p_parent IS DISTINCT FROM v_row.parent_id)
               OR (v_touches AND CASE WHEN p_set_recurrence THEN p_recurrence
                                      ELSE v_row.recurrence END IS NOT NULL) THEN
                RETURN QUERY SELECT 'held'::text, v_row;
                RETURN;
            END IF;
            -- The list and parent named are the task's own: no move.
            v_set_list := false;
            v_set_parent := false;
            IF v_touches THEN
                v_set_start := true;
                v_start := NULL;
            END IF;
        END IF;
    END IF;
    UPDATE tasks t SET
        title = coalesce(p_title, t.title),
        description = CASE WHEN p_set_description THEN p_description ELSE t.description END,
        completed = CASE WHEN p_advance_to IS NOT NULL THEN false
                         ELSE coalesce(p_completed, t.completed) END,
        -- Stamped when the task becomes completed, kept when it already was, cleared when it
        -- becomes pending; an occurrence completed stamps it and leaves the task pending.
        completed_at = CASE WHEN p_advance_to IS NOT NULL THEN p_now
                            WHEN p_completed THEN CASE WHEN t.completed THEN t.completed_at
                                                       ELSE p_now END
                            WHEN NOT p_completed THEN NULL
                            ELSE t.completed_at END,
        updated_at = p_now,
        priority = coalesce(p_priority, t.priority),
        category = coalesce(p_category, t.category),
        due_date = CASE WHEN p_advance_to IS NOT NULL THEN p_advance_to
                        WHEN p_set_due THEN p_due ELSE t.due_date END,
        recurrence = CASE WHEN p_set_recurrence THEN p_recurrence ELSE t.recurrence END,
        time_zone = coalesce(p_time_zone, t.time_zone),
        recurrence_start = CASE WHEN v_set_start THEN v_start ELSE t.recurrence_start END,
        tags = coalesce(p_tags, t.tags),
        list_id = CASE WHEN v_set_list THEN p_list ELSE t.list_id END,
        parent_id = CASE WHEN v_set_parent THEN p_parent ELSE t.parent_id END,
        position = coalesce(p_position, t.position),
        version = t.version + 1
    WHERE t.id = p_id AND t.user_id = p_owner
    RETURNING * INTO v_row;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF p_tags IS NOT NULL THEN
        PERFORM index_task_tags(p_owner, p_id, p_tag_keys, p_tag_names, p_now, p_tag_cap);
    END IF;
    RETURN QUERY SELECT 'done'::text, v_row;
END
$$;

-- Completing (`p_value` true), reopening (false) or toggling (NULL) a task, held first: nothing
-- when the owner has no such task; 'conflict' and the row when the precondition fails; 'held'
-- and the row, nothing written, for a pending repeating task being completed (the server
-- completes its occurrence or, past the last, the task: `tasks::series`); 'unchanged' and
-- the row when it already is as asked (a repeat leaves `updated_at` and the version alone);
-- else 'done' and the row written.
CREATE FUNCTION task_complete(p_owner text, p_id bigint, p_value boolean, p_expect bigint[],
                              p_now timestamp)
    RETURNS TABLE (step text, task tasks)
    LANGUAGE plpgsql AS $$
DECLARE
    v_row tasks;
BEGIN
    SELECT * INTO v_row FROM tasks t WHERE t.id = p_id AND t.user_id = p_owner FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF p_expect IS NOT NULL AND NOT v_row.version = ANY (p_expect) THEN
        RETURN QUERY SELECT 'conflict'::text, v_row;
        RETURN;
    END IF;
    IF coalesce(p_value, true) AND NOT v_row.completed AND v_row.recurrence IS NOT NULL
       AND v_row.due_date IS NOT NULL THEN
        RETURN QUERY SELECT 'held'::text, v_row;
        RETURN;
    END IF;
    IF v_row.completed = p_value THEN
        RETURN QUERY SELECT 'unchanged'::text, v_row;
        RETURN;
    END IF;
    UPDATE tasks t SET
        completed = NOT t.completed,
        updated_at = p_now,
        completed_at = CASE WHEN t.completed THEN NULL ELSE p_now END,
        version = t.version + 1
    WHERE t.id = p_id AND t.user_id = p_owner
    RETURNING * INTO v_row;
    RETURN QUERY SELECT 'done'::text, v_row;
END
$$;

-- A delete (`TaskService::delete`): under the owner's locks (as every placement), the task and
-- its descendants (at most `p_max_depth` + 1 levels below, as the server walks them) in one
-- statement, so the parent-before-child foreign keys hold at its end, each with its tombstone
-- (the trigger's); then the owner's tombstones older than `p_before`, and all but the newest
-- `p_keep`, go, the newest number dropped remembered (`tasks::store::journal::prune_tombstones`).
-- 'done' and each row deleted; 'conflict' and the row when the precondition fails; nothing when
-- the owner has no such task.
CREATE FUNCTION task_delete(p_owner text, p_id bigint, p_expect bigint[], p_before timestamp,
                            p_keep bigint, p_max_depth int)
    RETURNS TABLE (step text, task tasks)
    LANGUAGE plpgsql AS $$
DECLARE
    v_row tasks;
    v_newest bigint;
BEGIN
    PERFORM owner_locks(p_owner);
    IF p_expect IS NOT NULL THEN
        SELECT * INTO v_row FROM tasks t WHERE t.id = p_id AND t.user_id = p_owner FOR UPDATE;
        IF NOT FOUND THEN
            RETURN;
        END IF;
        IF NOT v_row.version = ANY (p_expect) THEN
            RETURN QUERY SELECT 'conflict'::text, v_row;
            RETURN;
        END IF;
    END IF;
    RETURN QUERY
    WITH RECURSIVE subtree (id, depth) AS (
        SELECT t.id, 0 FROM tasks t WHERE t.id = p_id AND t.user_id = p_owner
        UNION ALL
        SELECT c.id, s.depth + 1 FROM tasks c JOIN subtree s ON c.parent_id = s.id
        WHERE c.user_id = p_owner AND s.depth <= p_max_depth
    ), gone AS (
        DELETE FROM tasks t WHERE t.user_id = p_owner AND t.id IN (SELECT s.id FROM subtree s)
        RETURNING t.*
    )
    SELECT 'done'::text, g::tasks FROM gone g;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT max(n.seq) INTO v_newest FROM (
        SELECT max(c.seq) AS seq FROM task_changes c
        WHERE c.user_id = p_owner AND c.deleted AND c.changed_at < p_before
        UNION ALL
        SELECT max(c.seq) FROM list_changes c
        WHERE c.user_id = p_owner AND c.deleted AND c.changed_at < p_before
        UNION ALL
        (SELECT c.seq FROM task_changes c WHERE c.user_id = p_owner AND c.deleted
         ORDER BY c.seq DESC OFFSET p_keep LIMIT 1)
    ) AS n;
    IF v_newest IS NOT NULL THEN
        DELETE FROM list_changes c WHERE c.user_id = p_owner AND c.deleted AND c.seq <= v_newest;
        UPDATE task_sync_cursors c SET pruned_seq = v_newest
        WHERE c.user_id = p_owner AND c.pruned_seq < v_newest;
        DELETE FROM task_changes c WHERE c.user_id = p_owner AND c.deleted AND c.seq <= v_newest;
    END IF;
END
$$;

-- A keyed write's claim on its idempotency key (`tasks::idempotency`), before the write and in
-- its transaction, in one statement where it took four: 'in_use' when another transaction
-- holds the key (the lock is tried, never waited for: `tasks::store::idempotency`); 'stored'
-- and the outcome when the key was used and has not expired (stored after `p_cutoff`: the
-- server replays it, or refuses a different request); else the expired outcome is forgotten,
-- and 'full' when the user keeps `p_cap` outcomes even after their expired ones go; else
-- 'free'.
CREATE FUNCTION idempotency_claim(p_user text, p_key text, p_cutoff timestamp, p_cap bigint)
    RETURNS TABLE (claim text, stored idempotency_keys)
    LANGUAGE plpgsql AS $$
DECLARE
    v_stored idempotency_keys;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext(p_user), hashtext(p_key)) THEN
        RETURN QUERY SELECT 'in_use'::text, NULL::idempotency_keys;
        RETURN;
    END IF;
    SELECT * INTO v_stored FROM idempotency_keys k WHERE k.user_id = p_user AND k.key = p_key;
    IF FOUND THEN
        IF v_stored.created_at >= p_cutoff THEN
            RETURN QUERY SELECT 'stored'::text, v_stored;
            RETURN;
        END IF;
        DELETE FROM idempotency_keys k WHERE k.user_id = p_user AND k.key = p_key;
    END IF;
    IF (SELECT count(*) FROM idempotency_keys k WHERE k.user_id = p_user) >= p_cap THEN
        DELETE FROM idempotency_keys k WHERE k.user_id = p_user AND k.created_at < p_cutoff;
        IF (SELECT count(*) FROM idempotency_keys k WHERE k.user_id = p_user) >= p_cap THEN
            RETURN QUERY SELECT 'full'::text, NULL::idempotency_keys;
            RETURN;
        END IF;
    END IF;
    RETURN QUERY SELECT 'free'::text, NULL::idempotency_keys;
END
$$;

-- For requests only (the owner may run them anyway), each with a fixed search path: the
-- catalog first, so no object of the schema can stand in for a built-in; then this schema
-- (nobody but its owner may create there since 000040); temporary objects last.
DO $$
DECLARE
    f TEXT;
BEGIN
    FOREACH f IN ARRAY ARRAY[
        'owner_locks(text)',
        'group_end(text, bigint, bigint)',
        'index_task_tags(text, bigint, text[], text[], timestamp, bigint)',
        'task_create(text, text, text, smallint, text, timestamp, bigint, bigint, text, text, '
            'text[], text[], text, text, timestamp, bigint, bigint, int, int)',
        'task_update(text, bigint, bigint[], timestamp, boolean, text, boolean, text, boolean, '
            'smallint, text, boolean, timestamp, boolean, text, text, boolean, timestamp, '
            'timestamp, text, text[], text[], bigint, boolean, bigint, boolean, bigint, text)',
        'task_complete(text, bigint, boolean, bigint[], timestamp)',
        'task_delete(text, bigint, bigint[], timestamp, bigint, int)',
        'idempotency_claim(text, text, timestamp, bigint)'] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, %I, pg_temp', f, current_schema());
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO todo_api_app', f);
    END LOOP;
END
$$;
