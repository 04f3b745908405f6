-- A time the server can read (years 0001-9999): the data moves and CHECKs of migration 000069
-- (`stamp`).
CREATE OR REPLACE FUNCTION public.readable_time(at timestamp with time zone)
 RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $function$
    SELECT at BETWEEN '0001-01-01 00:00:00+00' AND '9999-12-31 23:59:59.999999+00'
$function$;
