-- Why a change was made (an incident or ticket id), kept with its audit entries.
ALTER TABLE audit_log ADD COLUMN reason TEXT;

-- Server-wide policies an admin sets, one row each (`require-approval`: 'on' or 'off').
CREATE TABLE policies (
    name       TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);

-- Two-person approval: with `require-approval` on, a publish, promote, retire or rollback waits
-- here until another publisher or admin approves it. `base_revision` is the rule's latest
-- revision when it was asked for: approval is refused if the rule has moved since. A pending
-- change past `expires_at` is expired (computed, never rewritten). `release_groups`: NULL for
-- everyone, else a JSON array of group names, as in `rules`.
CREATE TABLE pending_changes (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    action         TEXT NOT NULL CHECK (action IN ('publish', 'promote', 'retire')),
    rule_id        TEXT NOT NULL,
    revision       INTEGER,
    release_groups TEXT,
    base_revision  INTEGER NOT NULL,
    author         TEXT NOT NULL,
    reason         TEXT,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    state          TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'rejected')),
    decided_by     TEXT,
    decided_at     TEXT
);
CREATE INDEX pending_changes_by_state ON pending_changes (state, id);
