-- When the published rule set took its current serial: the `issued` time of the signed feed.
-- Kept beside the serial so every process renders the same bytes for the same rule set.
ALTER TABLE feed_state ADD COLUMN issued_at TEXT COLLATE "C" NOT NULL DEFAULT '1970-01-01T00:00:00Z';
UPDATE feed_state SET issued_at = utc_now_text() WHERE serial > 0;

-- SQLite drops and recreates the three rule triggers with this body; here they share one
-- function, so replacing it changes all three (their WHEN clauses are unchanged).
CREATE OR REPLACE FUNCTION bump_feed_serial() RETURNS trigger LANGUAGE plpgsql AS $function$
BEGIN
    UPDATE feed_state SET serial = serial + 1, issued_at = utc_now_text() WHERE id = 1;
    RETURN NULL;
END
$function$;
