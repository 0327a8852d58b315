-- Rules: one row per mitigation, its current content as JSON (the YAML rule schema).
CREATE TABLE rules (
    id         TEXT PRIMARY KEY NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('draft', 'published', 'retired')),
    content    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- The published rule set's serial: grows with every change to what the feed serves,
-- and only then. Triggers keep it honest whichever process writes the rules.
CREATE TABLE feed_state (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    serial INTEGER NOT NULL
);
INSERT INTO feed_state (id, serial) VALUES (1, 0);

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

-- Latest known state of every host that identified itself when polling.
CREATE TABLE hosts (
    host_key                TEXT PRIMARY KEY NOT NULL,
    server_id               TEXT,
    server_name             TEXT,
    build                   TEXT,
    org_id                  TEXT,
    applied                 TEXT NOT NULL,
    blocked                 TEXT NOT NULL,
    mitigations_enabled     INTEGER,
    data_collection_enabled INTEGER,
    remote_address          TEXT,
    user_agent              TEXT,
    first_seen              TEXT NOT NULL,
    last_seen               TEXT NOT NULL,
    poll_count              INTEGER NOT NULL
);

-- Every check-in, append-only.
CREATE TABLE check_ins (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    host_key                TEXT NOT NULL,
    server_id               TEXT,
    server_name             TEXT,
    build                   TEXT,
    org_id                  TEXT,
    applied                 TEXT NOT NULL,
    blocked                 TEXT NOT NULL,
    mitigations_enabled     INTEGER,
    data_collection_enabled INTEGER,
    remote_address          TEXT,
    user_agent              TEXT,
    checked_in_at           TEXT NOT NULL
);
CREATE INDEX check_ins_by_host ON check_ins (host_key, id);

CREATE TRIGGER check_ins_no_update BEFORE UPDATE ON check_ins
BEGIN
    SELECT RAISE(ABORT, 'check_ins is append-only');
END;
CREATE TRIGGER check_ins_no_delete BEFORE DELETE ON check_ins
BEGIN
    SELECT RAISE(ABORT, 'check_ins is append-only');
END;
