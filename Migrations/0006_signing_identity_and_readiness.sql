-- The certificate that signs this database's feed. Every host pins it, so a start with another
-- key (a production key's flags forgotten, say) must be refused rather than silently change it;
-- a deliberate rotation replaces the row and is audited.
CREATE TABLE signing_identity (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    fingerprint TEXT NOT NULL,
    subject TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);

-- One row that `/readyz` rewrites to prove the database takes writes.
CREATE TABLE readiness_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at TEXT NOT NULL
);
INSERT INTO readiness_probe (id, checked_at) VALUES (1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));
