-- `issued` never goes back while the serial goes forward. It used to be the clock's time at each
-- bump, so a server clock running fast during one change left `issued` in the future, and once
-- the clock was fixed every later feed looked older than the one agents had accepted.
--
-- The one place that sets `issued_at`: whenever the serial grows, `issued_at` becomes the later of
-- now and the previous `issued_at`. Every bump (the rule triggers, the catalog's bump in
-- CatalogStore) only raises the serial. SQLite does this in an AFTER trigger that updates the row
-- again; here a BEFORE trigger sets the new row, which ends in the same values.
CREATE FUNCTION feed_state_issued_follows_serial() RETURNS trigger LANGUAGE plpgsql AS $function$
BEGIN
    NEW.issued_at := GREATEST(utc_now_text() COLLATE "C", OLD.issued_at);
    RETURN NEW;
END
$function$;

CREATE TRIGGER feed_state_issued_follows_serial BEFORE UPDATE OF serial ON feed_state
FOR EACH ROW WHEN (NEW.serial > OLD.serial)
EXECUTE FUNCTION feed_state_issued_follows_serial();

-- The rule triggers (rules_published_insert, _update, _delete and rules_release_update, unchanged)
-- only raise the serial again: SQLite recreates them with this body; here their one function is.
CREATE OR REPLACE FUNCTION bump_feed_serial() RETURNS trigger LANGUAGE plpgsql AS $function$
BEGIN
    UPDATE feed_state SET serial = serial + 1 WHERE id = 1;
    RETURN NULL;
END
$function$;
