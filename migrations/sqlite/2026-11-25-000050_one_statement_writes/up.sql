-- SQLite has no functions of its own to fold a write into (and no round trips to save: it
-- runs in process); the server takes each write's steps one statement at a time
-- (`tasks::store::stepwise`). This migration exists so both sets keep the same names and order.
SELECT 1;
