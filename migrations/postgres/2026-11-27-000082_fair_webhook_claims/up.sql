-- Fair webhook deliveries (issue 58): a claim takes webhooks in turn, not the oldest messages.
--
-- The claim used to read the 200 oldest due messages and keep one per webhook, so one webhook
-- with a backlog filled that window and each claim sent one message, its own (another user's
-- delivery waited 10 s behind 4,833 messages, and was not sent within 120 s behind 30,515).
-- Now each webhook has a place in a line, `due_at`: when its oldest pending message fell due,
-- or when its last attempt was recorded if that is later (a webhook just served goes to the
-- back, behind those that waited). NULL: nothing pending. A claim reads the line's head off
-- `webhooks_due` (skipping webhooks in flight and users at their share of the slots), then
-- each chosen webhook's oldest due message off `webhook_deliveries_next`: its cost follows
-- the webhooks it takes, not the backlog.
ALTER TABLE webhooks ADD COLUMN due_at TIMESTAMPTZ;
UPDATE webhooks w SET due_at = (SELECT min(d.next_attempt_at) FROM webhook_deliveries d
                                 WHERE d.webhook_id = w.id AND d.state = 'pending');
CREATE INDEX webhooks_due ON webhooks (due_at, id) WHERE due_at IS NOT NULL AND NOT disabled;
-- A webhook's pending messages in the order they are sent; also what the queue's depth counts.
CREATE INDEX webhook_deliveries_next ON webhook_deliveries (webhook_id, next_attempt_at, id)
    WHERE state = 'pending';
-- The global order of due messages no claim reads any more.
DROP INDEX webhook_deliveries_due;

-- The fan-out takes events by user in turn too (at most a share of each user's oldest a
-- batch), so one user's bulk change (30,000 events) does not hold everyone's behind it: the
-- user index in the order it reads them, in place of the plain one (the same count of indexes
-- on a table every write with webhooks inserts into).
DROP INDEX webhook_events_user;
CREATE INDEX webhook_events_user ON webhook_events (user_id, id);
