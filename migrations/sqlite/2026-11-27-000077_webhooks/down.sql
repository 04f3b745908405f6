DROP TRIGGER IF EXISTS task_changes_webhooks_update;
DROP TRIGGER IF EXISTS task_changes_webhooks_insert;
DROP TABLE IF EXISTS webhook_attempts;
DROP TABLE IF EXISTS webhook_deliveries;
DROP TABLE IF EXISTS webhooks;
