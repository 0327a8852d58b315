-- Staged rollout: host groups, and which groups each published rule is released to.
--
-- A group picks hosts by what their polls say (serverIds or names, name patterns, or an
-- organization GUID); membership is evaluated on each poll, never stored per host.
-- `selector` is JSON: {"hosts": [...]}, {"names": [...]} or {"org": "GUID"}.
CREATE TABLE host_groups (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    selector   TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);

-- NULL: released to everyone (every rule published before this migration stays so). Otherwise a
-- JSON array of group names, sorted: only hosts in one of them receive the rule.
ALTER TABLE rules ADD COLUMN release_groups TEXT;

-- Widening or narrowing a published rule's release changes what hosts receive: a new serial.
CREATE TRIGGER rules_release_update AFTER UPDATE OF release_groups ON rules
WHEN NEW.state = 'published' AND OLD.state = 'published' AND OLD.release_groups IS NOT NEW.release_groups
     AND OLD.content IS NEW.content
BEGIN
    UPDATE feed_state SET serial = serial + 1, issued_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = 1;
END;
