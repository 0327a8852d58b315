-- `issued` never goes back while the serial goes forward. It used to be the clock's time at each
-- bump, so a server clock running fast during one change left `issued` in the future, and once
-- the clock was fixed every later feed looked older than the one agents had accepted.
--
-- The one place that sets `issued_at`: whenever the serial grows, `issued_at` becomes the later of
-- now and the previous `issued_at`. Every bump (the rule triggers below, the catalog's bump in
-- CatalogStore) only raises the serial. Recursive triggers are off, so this UPDATE does not fire
-- the trigger again (and it does not touch `serial` anyway).
CREATE TRIGGER feed_state_issued_follows_serial AFTER UPDATE OF serial ON feed_state
WHEN NEW.serial > OLD.serial
BEGIN
    UPDATE feed_state SET issued_at = max(strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), OLD.issued_at) WHERE id = 1;
END;

DROP TRIGGER rules_published_insert;
DROP TRIGGER rules_published_update;
DROP TRIGGER rules_published_delete;
DROP TRIGGER rules_release_update;

CREATE TRIGGER rules_published_insert AFTER INSERT ON rules
WHEN NEW.state = 'published'
BEGIN
    UPDATE feed_state SET serial = serial + 1 WHERE id = 1;
END;

CREATE TRIGGER rules_published_update AFTER UPDATE ON rules
WHEN (OLD.state = 'published' OR NEW.state = 'published')
     AND (OLD.state IS NOT NEW.state OR OLD.content IS NOT NEW.content OR OLD.id IS NOT NEW.id)
BEGIN
    UPDATE feed_state SET serial = serial + 1 WHERE id = 1;
END;

CREATE TRIGGER rules_published_delete AFTER DELETE ON rules
WHEN OLD.state = 'published'
BEGIN
    UPDATE feed_state SET serial = serial + 1 WHERE id = 1;
END;

CREATE TRIGGER rules_release_update AFTER UPDATE OF release_groups ON rules
WHEN NEW.state = 'published' AND OLD.state = 'published' AND OLD.release_groups IS NOT NEW.release_groups
     AND OLD.content IS NEW.content
BEGIN
    UPDATE feed_state SET serial = serial + 1 WHERE id = 1;
END;
