DROP FUNCTION invite_accept(text, timestamp, bigint);
