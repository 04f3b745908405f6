-- Issue 60 item 2: every index on `tasks` serves a read the API offers, and the category
-- index served none that needs it. A category has five values, so a page filtered by one
-- (`?category=work`, in any sort) walks its sort's index and skips the other categories' rows;
-- `tasks_user_category` could only give the category's whole set, unsorted. It cost every
-- create and every update that is not HOT an index entry (about 80 bytes of WAL each).
-- docs/ARCHITECTURE.md ("What each index on tasks serves") lists the rest.
DROP INDEX IF EXISTS tasks_user_category;
