-- Dashboard sessions: a signed-in browser holds a random cookie; only its SHA-256 is stored.
-- A session belongs to the API token it was opened with and ends when that token is revoked,
-- when it expires (8 hours after sign-in) or on sign-out. `csrf` is the per-session token every
-- state-changing form carries back.
CREATE TABLE dashboard_sessions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    secret_hash BLOB NOT NULL UNIQUE,
    token_id    INTEGER NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    csrf        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX dashboard_sessions_by_expiry ON dashboard_sessions (expires_at);
