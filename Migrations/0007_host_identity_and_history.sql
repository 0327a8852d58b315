-- Host identity and bounded history.
--
-- A host is one row with a stable number (`id`, never reused): the server its `serverId` names,
-- or, for a host that never gave one, its case-folded name. `host_history` keeps each CHANGE of
-- what a host reports (serverId, name, build, org, applied, blocked, the two flags), not every
-- poll: a poll that changes nothing moves only `last_seen` and `poll_count`. The check-in
-- transaction writes both (CheckInStore.record); no trigger derives one from the other any more.
-- History may be pruned and a forgotten host's history deleted; the audit trail and the rule
-- revisions stay append-only.
DROP TRIGGER check_ins_update_host;
DROP TRIGGER check_ins_no_update;
DROP TRIGGER check_ins_no_delete;
ALTER TABLE hosts RENAME TO hosts_v1;
ALTER TABLE check_ins RENAME TO check_ins_v1;

CREATE TABLE hosts (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id               TEXT UNIQUE,
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
-- Names are ASCII (the feed refuses others), so SQLite's lower() folds them as Swift does.
CREATE INDEX hosts_by_name ON hosts (lower(server_name), last_seen);
CREATE INDEX hosts_by_last_seen ON hosts (last_seen);
CREATE INDEX hosts_by_build ON hosts (build);

CREATE TABLE host_history (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    host_id                 INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    changed_at              TEXT NOT NULL,
    server_id               TEXT,
    server_name             TEXT,
    build                   TEXT,
    org_id                  TEXT,
    applied                 TEXT NOT NULL,
    blocked                 TEXT NOT NULL,
    mitigations_enabled     INTEGER,
    data_collection_enabled INTEGER,
    remote_address          TEXT,
    user_agent              TEXT
);
CREATE INDEX host_history_by_host ON host_history (host_id, id);

-- An entry says what a host reported and when: that never changes. Only `host_id` may, when a
-- name-only host turns out to be a host with a serverId and its history joins that host's.
CREATE TRIGGER host_history_immutable BEFORE UPDATE OF
    id, changed_at, server_id, server_name, build, org_id, applied, blocked,
    mitigations_enabled, data_collection_enabled, remote_address, user_agent ON host_history
BEGIN
    SELECT RAISE(ABORT, 'history entries are immutable');
END;

-- Hosts with a serverId first, oldest first, so ids follow first appearance.
INSERT INTO hosts (server_id, server_name, build, org_id, applied, blocked, mitigations_enabled,
    data_collection_enabled, remote_address, user_agent, first_seen, last_seen, poll_count)
SELECT server_id, server_name, build, org_id, applied, blocked, mitigations_enabled,
    data_collection_enabled, remote_address, user_agent, first_seen, last_seen, poll_count
FROM hosts_v1 WHERE server_id IS NOT NULL ORDER BY first_seen, host_key;

-- A name-only host whose name a host with a serverId reports is that host: one server, one row.
-- The others stay hosts of their own.
INSERT INTO hosts (server_id, server_name, build, org_id, applied, blocked, mitigations_enabled,
    data_collection_enabled, remote_address, user_agent, first_seen, last_seen, poll_count)
SELECT NULL, server_name, build, org_id, applied, blocked, mitigations_enabled,
    data_collection_enabled, remote_address, user_agent, first_seen, last_seen, poll_count
FROM hosts_v1 old
WHERE server_id IS NULL
  AND NOT EXISTS (SELECT 1 FROM hosts new WHERE lower(new.server_name) = lower(old.server_name))
ORDER BY first_seen, host_key;

CREATE TEMP TABLE host_map (host_key TEXT PRIMARY KEY NOT NULL, host_id INTEGER NOT NULL, merged INTEGER NOT NULL);
INSERT INTO host_map (host_key, host_id, merged)
SELECT old.host_key, new.id, 0 FROM hosts_v1 old JOIN hosts new ON new.server_id = old.server_id;
-- The name joins the host that last reported it, preferring one with a serverId (as a poll does).
INSERT INTO host_map (host_key, host_id, merged)
SELECT old.host_key, target.id, target.server_id IS NOT NULL
FROM hosts_v1 old
JOIN hosts target ON target.id = (
    SELECT id FROM hosts WHERE lower(server_name) = lower(old.server_name)
    ORDER BY server_id IS NULL, last_seen DESC LIMIT 1)
WHERE old.server_id IS NULL;

-- A merged host counts the polls of both; its state is that of whichever polled last.
UPDATE hosts SET
    poll_count = poll_count + (SELECT sum(old.poll_count) FROM hosts_v1 old JOIN host_map m USING (host_key) WHERE m.host_id = hosts.id AND m.merged),
    first_seen = min(first_seen, (SELECT min(old.first_seen) FROM hosts_v1 old JOIN host_map m USING (host_key) WHERE m.host_id = hosts.id AND m.merged))
WHERE id IN (SELECT host_id FROM host_map WHERE merged);
UPDATE hosts SET
    (build, org_id, applied, blocked, mitigations_enabled, data_collection_enabled, remote_address, user_agent, last_seen) = (
        SELECT coalesce(old.build, hosts.build), coalesce(old.org_id, hosts.org_id), old.applied, old.blocked,
            coalesce(old.mitigations_enabled, hosts.mitigations_enabled),
            coalesce(old.data_collection_enabled, hosts.data_collection_enabled),
            old.remote_address, old.user_agent, old.last_seen
        FROM hosts_v1 old JOIN host_map m USING (host_key)
        WHERE m.host_id = hosts.id AND m.merged
        ORDER BY old.last_seen DESC LIMIT 1)
WHERE id IN (
    SELECT m.host_id FROM host_map m JOIN hosts_v1 old USING (host_key)
    JOIN hosts target ON target.id = m.host_id
    WHERE m.merged AND old.last_seen > target.last_seen);

-- History: a check-in becomes an entry when it differs from the host's check-in before it. Old
-- check-ins hold what each poll sent, so a poll that left a fact out counts as a change here:
-- the migrated history may keep a few entries too many, never one too few.
INSERT INTO host_history (host_id, changed_at, server_id, server_name, build, org_id, applied, blocked,
    mitigations_enabled, data_collection_enabled, remote_address, user_agent)
SELECT host_id, checked_in_at, server_id, server_name, build, org_id, applied, blocked,
    mitigations_enabled, data_collection_enabled, remote_address, user_agent
FROM (
    SELECT m.host_id, c.*,
        row_number() OVER w = 1
        OR lag(c.server_id) OVER w IS NOT c.server_id
        OR lower(lag(c.server_name) OVER w) IS NOT lower(c.server_name)
        OR lag(c.build) OVER w IS NOT c.build
        OR lag(c.org_id) OVER w IS NOT c.org_id
        OR lag(c.applied) OVER w IS NOT c.applied
        OR lag(c.blocked) OVER w IS NOT c.blocked
        OR lag(c.mitigations_enabled) OVER w IS NOT c.mitigations_enabled
        OR lag(c.data_collection_enabled) OVER w IS NOT c.data_collection_enabled AS changed
    FROM check_ins_v1 c JOIN host_map m USING (host_key)
    WINDOW w AS (PARTITION BY m.host_id ORDER BY c.id)
)
WHERE changed
ORDER BY id;

DROP TABLE host_map;
DROP TABLE check_ins_v1;
DROP TABLE hosts_v1;
