-- The certificate that signs this database's feed. Every host pins it, so a start with another
-- key (a production key's flags forgotten, say) must be refused rather than silently change it;
-- a deliberate rotation replaces the row and is audited.
CREATE TABLE signing_identity (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    fingerprint TEXT COLLATE "C" NOT NULL,
    subject TEXT COLLATE "C" NOT NULL,
    recorded_at TEXT COLLATE "C" NOT NULL
);

-- One row that `/readyz` rewrites to prove the database takes writes.
CREATE TABLE readiness_probe (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    checked_at TEXT COLLATE "C" NOT NULL
);
INSERT INTO readiness_probe (id, checked_at) VALUES (1, utc_now_text());
