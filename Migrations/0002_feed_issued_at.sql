-- When the published rule set took its current serial: the `issued` time of the signed feed.
-- Kept beside the serial so every process renders the same bytes for the same rule set.
ALTER TABLE feed_state ADD COLUMN issued_at TEXT NOT NULL DEFAULT '1970-01-01T00:00:00Z';
UPDATE feed_state SET issued_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE serial > 0;

DROP TRIGGER rules_published_insert;
DROP TRIGGER rules_published_update;
DROP TRIGGER rules_published_delete;

CREATE TRIGGER rules_published_insert AFTER INSERT ON rules
WHEN NEW.state = 'published'
BEGIN
    UPDATE feed_state SET serial = serial + 1, issued_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = 1;
END;

CREATE TRIGGER rules_published_update AFTER UPDATE ON rules
WHEN (OLD.state = 'published' OR NEW.state = 'published')
     AND (OLD.state IS NOT NEW.state OR OLD.content IS NOT NEW.content OR OLD.id IS NOT NEW.id)
BEGIN
    UPDATE feed_state SET serial = serial + 1, issued_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = 1;
END;

CREATE TRIGGER rules_published_delete AFTER DELETE ON rules
WHEN OLD.state = 'published'
BEGIN
    UPDATE feed_state SET serial = serial + 1, issued_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = 1;
END;
