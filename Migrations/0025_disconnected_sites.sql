-- A disconnected site serves the feeds the central instance signed, carried in as bundles
-- (`ocs bundle import`): each kept verbatim, append-only, once verified against the pinned
-- certificate. The latest (highest id) is the one served; its certificate is the pin the next
-- bundle must carry.
CREATE TABLE bundles (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    digest      TEXT NOT NULL UNIQUE,
    body        BLOB NOT NULL,
    -- The central rule set's serial, when the bundle was exported and when its feeds expire.
    serial      INTEGER NOT NULL,
    exported_at TEXT NOT NULL,
    expires     TEXT NOT NULL,
    certificate BLOB NOT NULL,
    fingerprint TEXT NOT NULL,
    imported_at TEXT NOT NULL
);
CREATE TRIGGER bundles_immutable BEFORE UPDATE ON bundles
BEGIN
    SELECT RAISE(ABORT, 'bundles are append-only');
END;
CREATE TRIGGER bundles_no_delete BEFORE DELETE ON bundles
BEGIN
    SELECT RAISE(ABORT, 'bundles are append-only');
END;

-- The central instance's side: each site whose check-in files it imports (`ocs hosts import
-- --ocs`), with the certificate those files must be signed by and the export time of the last
-- file imported (an older file is refused: it would move the site's hosts back).
CREATE TABLE sites (
    name             TEXT PRIMARY KEY NOT NULL,
    certificate      BLOB NOT NULL,
    fingerprint      TEXT NOT NULL,
    pinned_at        TEXT NOT NULL,
    last_exported_at TEXT,
    last_imported_at TEXT
);

-- A host a site's file reports: only that site's files change it, never a poll here. Its site,
-- the export time of the file that last changed it, and whether the site had it verified.
ALTER TABLE hosts ADD COLUMN site TEXT REFERENCES sites (name);
ALTER TABLE hosts ADD COLUMN site_exported_at TEXT;
ALTER TABLE hosts ADD COLUMN site_verified INTEGER;
CREATE INDEX hosts_by_site ON hosts (site) WHERE site IS NOT NULL;
