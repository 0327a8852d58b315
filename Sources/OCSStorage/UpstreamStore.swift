import Crypto
import Foundation
import OCSDomain

/// Microsoft's documents as ocs keeps them (`upstream_documents`, append-only): each distinct
/// verified document once, by the SHA-256 of its bytes, with when it was first and last seen.
/// The caller verifies before it keeps; this store only stores.
public struct UpstreamStore: Sendable {
    let database: any SQLDatabase

    public init(database: any SQLDatabase) {
        self.database = database
    }

    /// What a verified document says about itself, kept beside its bytes.
    public struct Verified: Sendable, Equatable {
        public let configIDs: [String]
        public let signer: String
        public let stampedAt: Date?

        public init(configIDs: [String], signer: String, stampedAt: Date?) {
            self.configIDs = configIDs
            self.signer = signer
            self.stampedAt = stampedAt
        }
    }

    /// The audit action of a document kept for the first time.
    public static let keepAction = "upstream.keep"

    /// Keeps `body` (verified, saying `verified`) seen at `time` from `origin`: a new row for bytes
    /// not kept before, else the row's `lastSeen` moves. Returns the document and whether it is new;
    /// a new one is audited in the same transaction.
    public func keep(_ body: Data, verified: Verified, origin: String, context: ChangeContext, at time: Date = Date()) throws -> (document: UpstreamDocument, isNew: Bool) {
        let digest = SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined()
        return try database.write { db in
            let ids = String(decoding: try JSONSerialization.data(withJSONObject: verified.configIDs), as: UTF8.self)
            // One statement decides whether the bytes are new, so two fetchers keeping the same
            // document at once (two servers, or a server and the command line) both succeed.
            let inserted = try db.rows(
                """
                INSERT INTO upstream_documents (digest, body, config_ids, signer, stamped_at, origin, first_seen, last_seen)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING RETURNING id
                """,
                [digest, body, ids, verified.signer, verified.stampedAt.map(DatabaseTimestamp.init), origin, DatabaseTimestamp(time), DatabaseTimestamp(time)]
            ).first
            if inserted == nil {
                // Kept before: a clock set back never moves last_seen back.
                try db.execute("UPDATE upstream_documents SET last_seen = ? WHERE digest = ? AND last_seen < ?", [DatabaseTimestamp(time), digest, DatabaseTimestamp(time)])
            } else {
                let configs = verified.configIDs.isEmpty ? "none" : verified.configIDs.joined(separator: ",")
                try AuditLog.append(AuditEntry(
                    time: time, context: context, action: Self.keepAction, ruleID: nil, revision: nil,
                    outcome: "ok: kept \(digest.prefix(16)) (\(body.count) bytes, configs \(configs)) from \(origin)"
                ), in: db)
            }
            // The row exists either way in this transaction; its absence is a broken database.
            guard let kept = try db.rows("SELECT \(Self.columns) FROM upstream_documents WHERE digest = ?", [digest]).first else {
                throw DocumentMissing(digest: digest)
            }
            return (try Self.document(kept), inserted != nil)
        }
    }

    /// What Microsoft serves now, as far as ocs knows: the document signed last (by its time-stamp,
    /// else when it was first seen). Not the one seen last: an old genuine document verifies for
    /// ever, and one replayed from a mirror or imported again must not pass for the newest.
    public func current() throws -> UpstreamDocument? {
        try database.read { db in
            try db.rows("SELECT \(Self.columns) FROM upstream_documents ORDER BY COALESCE(stamped_at, first_seen) DESC, id DESC LIMIT 1")
                .first.map(Self.document)
        }
    }

    /// A page of the documents kept, newest first seen first (by id: each is newer than the last).
    public func documents(page: PageRequest = PageRequest()) throws -> Page<UpstreamDocument> {
        let rows = try database.read { db in
            try db.rows(
                "SELECT \(Self.columns) FROM upstream_documents WHERE id < ? ORDER BY id DESC LIMIT ?",
                [page.cursor?.key ?? Int64.max, page.limit + 1]
            ).map(Self.document)
        }
        return Page(reading: rows, limit: page.limit, kind: .upstream, key: \.id)
    }

    /// The bytes of the document with `digest` (lowercase hex), as they were served.
    public func body(digest: String) throws -> Data? {
        try database.read { db in try db.value(Data.self, "SELECT body FROM upstream_documents WHERE digest = ?", [digest]) }
    }

    /// Everything but the bytes.
    private static let columns = "id, digest, length(body) AS size, config_ids, signer, stamped_at, origin, first_seen, last_seen"

    private static func document(_ row: SQLRow) throws -> UpstreamDocument {
        let ids = try row["config_ids"] as String
        return UpstreamDocument(
            id: try row["id"], digest: try row["digest"], size: try row["size"],
            configIDs: (try? JSONSerialization.jsonObject(with: Data(ids.utf8))) as? [String] ?? [],
            signer: try row["signer"], stampedAt: try row["stamped_at"], origin: try row["origin"],
            firstSeen: try row["first_seen"], lastSeen: try row["last_seen"]
        )
    }
}

/// A document just inserted or found by its digest cannot be read back in the same transaction.
struct DocumentMissing: Error, CustomStringConvertible {
    let digest: String
    var description: String { "upstream document \(digest.prefix(16)) cannot be read back" }
}
