-- What Microsoft's OCS serves: every distinct document that verified against Microsoft's roots,
-- kept verbatim by the SHA-256 of its bytes, with when it was first and last seen. Append-only:
-- only last_seen moves (each fetch that gets the same bytes again).
CREATE TABLE upstream_documents (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    digest      TEXT NOT NULL UNIQUE,
    body        BLOB NOT NULL,
    -- The signed Config ids, a JSON array, and who signed it and when its time-stamp says.
    config_ids  TEXT NOT NULL,
    signer      TEXT NOT NULL,
    stamped_at  TEXT,
    -- Where it came from first: the URL fetched, or 'import'.
    origin      TEXT NOT NULL,
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL
);
CREATE INDEX upstream_documents_by_last_seen ON upstream_documents (last_seen);
CREATE TRIGGER upstream_documents_immutable BEFORE UPDATE OF id, digest, body, config_ids, signer, stamped_at, origin, first_seen ON upstream_documents
BEGIN
    SELECT RAISE(ABORT, 'upstream documents are append-only');
END;
CREATE TRIGGER upstream_documents_no_delete BEFORE DELETE ON upstream_documents
BEGIN
    SELECT RAISE(ABORT, 'upstream documents are append-only');
END;
