DROP TRIGGER list_members_unassign;
DROP TRIGGER tasks_assignee_fit;
