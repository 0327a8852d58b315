-- Servers sharing this database hear each move of the serial as it commits: a NOTIFY on the
-- channel `ocs_serial` (delivered at commit, never for a rolled-back change). Its payload is
-- always empty, so PostgreSQL folds the notifications of one transaction into one: importing a
-- hundred rules moves the serial a hundred times but is announced once. Each server listens on
-- one connection of its own and reads the serial when told, with a slow read as the fallback
-- while that connection is down (Sources/OCSServer/SerialWatcher.swift).
CREATE FUNCTION feed_state_announce_serial() RETURNS trigger LANGUAGE plpgsql AS $function$
BEGIN
    PERFORM pg_notify('ocs_serial', '');
    RETURN NULL;
END
$function$;

CREATE TRIGGER feed_state_announce_serial AFTER UPDATE OF serial ON feed_state
FOR EACH ROW WHEN (NEW.serial > OLD.serial)
EXECUTE FUNCTION feed_state_announce_serial();
