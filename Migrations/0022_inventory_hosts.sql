-- Servers that run Microsoft's own EM service never poll: `Get-ExchangeServer` reports them
-- (`ocs hosts import --exchange`, `POST /api/v1/inventory`). Their hosts are marked as such, so
-- that a poll never changes one, and a token may be made that only reports them.
ALTER TABLE hosts ADD COLUMN source TEXT NOT NULL DEFAULT 'poll' CHECK (source IN ('poll', 'inventory'));
-- SQLite cannot change a CHECK constraint: the tokens' table is rebuilt, rows and ids kept.
CREATE TABLE api_tokens_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('reporter', 'reader', 'publisher', 'admin')),
    token_hash BLOB NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
INSERT INTO api_tokens_new (id, name, role, token_hash, created_at, revoked_at)
    SELECT id, name, role, token_hash, created_at, revoked_at FROM api_tokens ORDER BY id;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_new RENAME TO api_tokens;
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;
