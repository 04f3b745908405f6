DROP INDEX webhook_events_user;
CREATE INDEX webhook_events_user ON webhook_events (user_id);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id)
    WHERE state = 'pending';
DROP INDEX webhook_deliveries_next;
DROP INDEX webhooks_due;
ALTER TABLE webhooks DROP COLUMN due_at;
