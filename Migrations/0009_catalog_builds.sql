-- Builds added to the catalog at run time (ocs builds add / import, POST /api/v1/builds), on top
-- of the catalog compiled into the binary, so a new Microsoft update needs no rebuild. Append-only:
-- rules may name these rows, and a row that vanished would silently change what they match.
CREATE TABLE catalog_builds (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    product     TEXT NOT NULL,
    cu          TEXT NOT NULL,
    update_name TEXT,
    build       TEXT NOT NULL UNIQUE,
    released    TEXT NOT NULL,
    added_at    TEXT NOT NULL,
    added_by    TEXT NOT NULL
);
CREATE UNIQUE INDEX catalog_builds_by_name ON catalog_builds (product, cu, coalesce(update_name, ''));

CREATE TRIGGER catalog_builds_no_update BEFORE UPDATE ON catalog_builds
BEGIN
    SELECT RAISE(ABORT, 'catalog_builds is append-only');
END;
CREATE TRIGGER catalog_builds_no_delete BEFORE DELETE ON catalog_builds
BEGIN
    SELECT RAISE(ABORT, 'catalog_builds is append-only');
END;
