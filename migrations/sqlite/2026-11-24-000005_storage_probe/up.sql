-- One row the readiness probe writes while writes are failing for want of storage (a
-- read-only file, a full disk), to learn when they can succeed again. No user data.
CREATE TABLE storage_probe (
    id        INTEGER   PRIMARY KEY NOT NULL,
    probed_at TIMESTAMP NOT NULL
);
