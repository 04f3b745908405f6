DROP TRIGGER list_members_journal ON list_members;
DROP FUNCTION journal_memberships();
-- journal_changes keeps the members' entries (000040's body is in its own migration).
