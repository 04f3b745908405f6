-- Same change as migrations/postgres, in SQLite's dialect (one ADD COLUMN per statement).
-- priority is a rank (0 none, 1 low, 2 medium, 3 high); times are TEXT in the one format
-- the application writes ("%F %T%.f" UTC), so text order is time order.
ALTER TABLE tasks ADD COLUMN priority INTEGER NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 3);
ALTER TABLE tasks ADD COLUMN category TEXT NOT NULL DEFAULT 'other'
    CHECK (category IN ('work', 'personal', 'shopping', 'health', 'other'));
ALTER TABLE tasks ADD COLUMN due_date TIMESTAMP;
ALTER TABLE tasks ADD COLUMN completed_at TIMESTAMP;
-- Lower-cased description written by the application (see the PostgreSQL migration); SQLite's
-- own lower() and LIKE fold ASCII only, so they cannot be relied on for other letters.
ALTER TABLE tasks ADD COLUMN description_key TEXT;

UPDATE tasks SET completed_at = updated_at WHERE completed;

CREATE INDEX tasks_user_priority ON tasks (user_id, priority, id);
CREATE INDEX tasks_user_category ON tasks (user_id, category, id);
CREATE INDEX tasks_user_due      ON tasks (user_id, due_date, id);
-- No index serves a substring search here: it scans one user's rows (10,000 at most).
