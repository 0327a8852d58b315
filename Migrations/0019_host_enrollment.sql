-- Enrollment: an admin makes one-time enrollment tokens; an agent exchanges one for a credential
-- bound to its serverId, which its polls then carry. Only SHA-256 digests of tokens and
-- credentials are stored, so a copy of the database lets nobody enroll or check in.
CREATE TABLE enrollment_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    -- The host it enrolled; kept when that host is forgotten (the audit trail names it).
    used_by    INTEGER
);

-- A host's credential (NULL: not enrolled, or revoked) and when it enrolled last. A host with a
-- credential is verified: only polls carrying that credential change it.
ALTER TABLE hosts ADD COLUMN credential_hash TEXT;
ALTER TABLE hosts ADD COLUMN enrolled_at TEXT;
CREATE UNIQUE INDEX hosts_by_credential ON hosts (credential_hash) WHERE credential_hash IS NOT NULL;

-- Which check-ins `ocs serve` records when not told (--check-ins): a database whose hosts checked
-- in before enrollment existed keeps recording them ('any') until told otherwise; a new one
-- records only enrolled hosts. Upgrading must not silently stop a fleet's check-ins.
INSERT INTO policies (name, value, updated_at, updated_by)
SELECT 'check-ins', 'any', strftime('%Y-%m-%d %H:%M:%f', 'now'), 'migration 0019'
WHERE EXISTS (SELECT 1 FROM hosts);
