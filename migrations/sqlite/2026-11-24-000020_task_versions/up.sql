-- Same column as migrations/postgres (see there), in SQLite's dialect.
ALTER TABLE tasks ADD COLUMN version BIGINT NOT NULL DEFAULT 1 CHECK (version >= 1);
