-- The position after a key (`position.rs`'s rule in SQL): for `tasks_place` and
-- `task_create_owned`.
CREATE OR REPLACE FUNCTION public.position_after(key text)
 RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $function$
DECLARE
    bytes bytea;
    i int;
    b int;
BEGIN
    IF key IS NULL THEN
        RETURN '80';
    END IF;
    IF key !~ '^([0-9a-f]{2})+$' OR right(key, 2) <> '80' THEN
        RETURN CASE WHEN key < 'ff' THEN 'ff80' ELSE key || 'ff80' END;
    END IF;
    bytes := decode(key, 'hex');
    FOR i IN 0 .. length(bytes) - 1 LOOP
        b := get_byte(bytes, i);
        IF b < 128 THEN
            RETURN encode(substring(bytes FROM 1 FOR i), 'hex') || '80';
        END IF;
        IF b < 255 THEN
            RETURN encode(substring(bytes FROM 1 FOR i), 'hex') || lpad(to_hex(b + 1), 2, '0') || '80';
        END IF;
    END LOOP;
    RETURN key || 'ff80'; -- unreachable: a key ends with 0x80
END
$function$;
