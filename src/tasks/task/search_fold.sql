-- Case folding for search and title order (ICU's root locale): PostgreSQL's side of `tasks::task::fold`
-- (`search_keys`).
CREATE OR REPLACE FUNCTION public.search_fold(text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE STRICT
RETURN lower(($1 COLLATE "und-x-icu"));
