DROP TRIGGER IF EXISTS task_changes_webhooks ON task_changes;
DROP FUNCTION IF EXISTS webhook_enqueue();
DROP TABLE IF EXISTS webhook_attempts;
DROP TABLE IF EXISTS webhook_deliveries;
DROP TABLE IF EXISTS webhooks;
