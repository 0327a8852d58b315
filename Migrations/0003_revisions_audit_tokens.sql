-- Rule lifecycle: every change is an immutable revision; `rules` says which revision the
-- state applies to (`revision`) and which is newest (`latest_revision`, ahead of `revision`
-- while an edit of a published rule awaits publishing). Contents are stored without `state`.
CREATE TABLE rule_revisions (
    rule_id    TEXT NOT NULL,
    revision   INTEGER NOT NULL CHECK (revision >= 1),
    content    TEXT NOT NULL,
    author     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (rule_id, revision)
);

CREATE TRIGGER rule_revisions_immutable BEFORE UPDATE ON rule_revisions
BEGIN
    SELECT RAISE(ABORT, 'rule revisions are immutable');
END;

ALTER TABLE rules ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
ALTER TABLE rules ADD COLUMN latest_revision INTEGER NOT NULL DEFAULT 1;
ALTER TABLE rules ADD COLUMN first_published_at TEXT;

-- Existing rules become revision 1 of themselves. Dropping `state` from the stored content
-- changes no published content, so the triggers leave the serial alone... except that they
-- compare the text: keep the serial as it was.
CREATE TEMP TABLE serial_before AS SELECT serial, issued_at FROM feed_state WHERE id = 1;
UPDATE rules SET content = json_remove(content, '$.state');
UPDATE feed_state SET serial = (SELECT serial FROM serial_before), issued_at = (SELECT issued_at FROM serial_before) WHERE id = 1;
DROP TABLE serial_before;
UPDATE rules SET first_published_at = updated_at WHERE state IN ('published', 'retired');
INSERT INTO rule_revisions (rule_id, revision, content, author, created_at)
    SELECT id, 1, content, 'migration', created_at FROM rules;

-- Who did what: append-only. Actors are token names or `local:` and an OS user; never secrets.
CREATE TABLE audit_log (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    time           TEXT NOT NULL,
    actor          TEXT NOT NULL,
    action         TEXT NOT NULL,
    rule_id        TEXT,
    revision       INTEGER,
    remote_address TEXT,
    outcome        TEXT NOT NULL
);
CREATE INDEX audit_log_by_rule ON audit_log (rule_id, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- API bearer tokens: only a SHA-256 hash of each secret is kept.
CREATE TABLE api_tokens (
    name       TEXT PRIMARY KEY NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('reader', 'publisher', 'admin')),
    token_hash BLOB NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
