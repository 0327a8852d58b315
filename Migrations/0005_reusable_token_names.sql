-- A revoked token's name may be given to a new token: names are unique among live tokens only.
-- SQLite cannot drop a PRIMARY KEY, so the table is rebuilt around a row id, rows kept in order.
CREATE TABLE api_tokens_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('reader', 'publisher', 'admin')),
    token_hash BLOB NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
INSERT INTO api_tokens_new (name, role, token_hash, created_at, revoked_at)
    SELECT name, role, token_hash, created_at, revoked_at FROM api_tokens ORDER BY created_at, name;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_new RENAME TO api_tokens;
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;
