DROP TABLE list_invites;
DROP TABLE list_members;
