import Crypto
import Foundation
import OCSDomain

/// A disconnected site's bundles (`bundles`, append-only): each verified bundle kept verbatim.
/// The latest is the one the site serves, and its certificate the pin the next must carry. The
/// caller verifies before it keeps; this store keeps them in order.
public struct BundleStore: Sendable {
    let database: any SQLDatabase

    public init(database: any SQLDatabase) {
        self.database = database
    }

    /// A bundle as kept.
    public struct StoredBundle: Sendable, Equatable {
        public let id: Int64
        public let digest: String
        public let body: Data
        public let serial: Int64
        public let exportedAt: Date
        public let expires: Date
        /// The signing certificate, DER.
        public let certificate: Data
        public let fingerprint: String
        public let importedAt: Date
    }

    /// What a verified bundle says of itself, kept beside its bytes.
    public struct Verified: Sendable, Equatable {
        public let serial: Int64
        public let exportedAt: Date
        public let expires: Date
        public let certificate: Data
        public let fingerprint: String
        /// Signed by a certificate the operator pins in place of the pinned one (`--repin`).
        public let repins: Bool

        public init(serial: Int64, exportedAt: Date, expires: Date, certificate: Data, fingerprint: String, repins: Bool = false) {
            self.serial = serial
            self.exportedAt = exportedAt
            self.expires = expires
            self.certificate = certificate
            self.fingerprint = fingerprint
            self.repins = repins
        }
    }

    /// The bundle served, without its bytes: for pages and logs.
    public struct Summary: Sendable, Equatable {
        public let serial: Int64
        public let exportedAt: Date
        public let expires: Date
        public let fingerprint: String
        public let importedAt: Date

        public init(serial: Int64, exportedAt: Date, expires: Date, fingerprint: String, importedAt: Date) {
            self.serial = serial
            self.exportedAt = exportedAt
            self.expires = expires
            self.fingerprint = fingerprint
            self.importedAt = importedAt
        }
    }

    /// The bundle served, without its bytes; nil on an instance that imported none.
    public func summary() throws -> Summary? {
        try database.read { db in
            try db.rows("SELECT serial, exported_at, expires, fingerprint, imported_at FROM bundles ORDER BY id DESC LIMIT 1").first.map { row in
                Summary(serial: try row["serial"], exportedAt: try row["exported_at"], expires: try row["expires"],
                        fingerprint: try row["fingerprint"], importedAt: try row["imported_at"])
            }
        }
    }

    public static let importAction = "bundle.import"

    /// Keeps `body` (verified, saying `verified`) as the bundle served from now on, unless it is
    /// the one served already (returned with `isNew` false) or older than it: a lower serial, or the
    /// same serial exported no later (a replayed bundle would serve feeds that expire sooner, or
    /// bring back rules the central team retired), or signed by another certificate than the one
    /// served without `repins`. A first bundle is refused on a database that serves a feed of its own
    /// (published rules, a signing identity): it would replace that feed for good. The serial moves
    /// in the same transaction, so servers on this database serve the new bundle within one read
    /// of it; audited.
    public func keep(_ body: Data, verified: Verified, context: ChangeContext, at time: Date = Date()) throws -> (bundle: StoredBundle, isNew: Bool) {
        let digest = SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined()
        return try database.write { db in
            if let current = try Self.current(db) {
                if current.digest == digest { return (current, false) }
                if current.fingerprint != verified.fingerprint, !verified.repins {
                    throw BundleKeepError.unpinnedSigner(pinned: current.fingerprint, signer: verified.fingerprint)
                }
                // Kept bundles only ever grow in this order: one kept before, not served now, is older.
                if verified.serial < current.serial {
                    throw BundleKeepError.lowerSerial(serial: verified.serial, current: current.serial)
                }
                if verified.serial == current.serial, verified.exportedAt <= current.exportedAt {
                    throw BundleKeepError.notNewer(exportedAt: verified.exportedAt, current: current.exportedAt)
                }
            } else {
                let published = try db.value(Int.self, "SELECT COUNT(*) FROM rules WHERE state = 'published'") ?? 0
                let signing = try db.value(Int.self, "SELECT COUNT(*) FROM signing_identity") ?? 0
                if published > 0 || signing > 0 { throw BundleKeepError.ownFeed(publishedRules: published) }
            }
            let id = try db.insert(
                """
                INSERT INTO bundles (digest, body, serial, exported_at, expires, certificate, fingerprint, imported_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
                """,
                [digest, body, verified.serial, DatabaseTimestamp(verified.exportedAt), DatabaseTimestamp(verified.expires),
                 verified.certificate, verified.fingerprint, DatabaseTimestamp(time)]
            )
            // The feed_state trigger of migration 0017 moves `issued_at` with the serial.
            try db.execute("UPDATE feed_state SET serial = serial + 1 WHERE id = 1")
            try AuditLog.append(AuditEntry(
                time: time, context: context, action: Self.importAction, ruleID: nil, revision: nil,
                outcome: "ok: bundle \(id) of serial \(verified.serial), exported \(verified.exportedAt.formatted(.iso8601)), expires \(verified.expires.formatted(.iso8601)), signed by \(verified.fingerprint)"
            ), in: db)
            guard let kept = try db.rows("SELECT \(Self.columns) FROM bundles WHERE id = ?", [id]).first else {
                throw BundleMissing(id: id)
            }
            return (try Self.bundle(kept), true)
        }
    }

    /// The bundle served: the latest kept. Nil on an instance that imported none (it signs its own).
    public func current() throws -> StoredBundle? {
        try database.read { db in try Self.current(db) }
    }

    /// The bundle served and the serial, read together: the serial moved when it was kept.
    public func currentWithSerial() throws -> (bundle: StoredBundle, serial: Int64)? {
        try database.read { db in
            guard let bundle = try Self.current(db) else { return nil }
            return (bundle, try RuleStore.serial(db))
        }
    }

    static func current(_ db: any SQLTransaction) throws -> StoredBundle? {
        try db.rows("SELECT \(Self.columns) FROM bundles ORDER BY id DESC LIMIT 1").first.map(Self.bundle)
    }

    /// Audits a bundle refused at import, naming why; nothing else is kept.
    public func auditRefusal(_ reason: String, context: ChangeContext, at time: Date = Date()) throws {
        try database.write { db in
            try AuditLog.append(AuditEntry(
                time: time, context: context, action: Self.importAction, ruleID: nil, revision: nil, outcome: "refused: \(reason)"
            ), in: db)
        }
    }

    private static let columns = "id, digest, body, serial, exported_at, expires, certificate, fingerprint, imported_at"

    private static func bundle(_ row: SQLRow) throws -> StoredBundle {
        StoredBundle(
            id: try row["id"], digest: try row["digest"], body: try row["body"], serial: try row["serial"],
            exportedAt: try row["exported_at"], expires: try row["expires"], certificate: try row["certificate"],
            fingerprint: try row["fingerprint"], importedAt: try row["imported_at"]
        )
    }
}

/// A bundle older than the one kept: refused, nothing changed.
public enum BundleKeepError: Error, Sendable, Equatable, CustomStringConvertible {
    case lowerSerial(serial: Int64, current: Int64)
    case notNewer(exportedAt: Date, current: Date)
    case unpinnedSigner(pinned: String, signer: String)
    case ownFeed(publishedRules: Int)

    public var description: String {
        switch self {
        case .lowerSerial(let serial, let current):
            "its serial \(serial) is lower than the served bundle's \(current): an older bundle would bring back what the central team changed since"
        case .notNewer(let exportedAt, let current):
            "it was exported at \(exportedAt.formatted(.iso8601)), not after the served bundle of the same serial (exported at \(current.formatted(.iso8601)))"
        case .unpinnedSigner(let pinned, let signer):
            "it is signed by SHA-256 \(signer), not by the pinned SHA-256 \(pinned): give --repin with --cert to move the pin"
        case .ownFeed(let published):
            "this database serves a feed of its own (\(published) published rules, or a signing identity): a bundle would replace it for good; import the first bundle into the site's own new database (--db)"
        }
    }
}

struct BundleMissing: Error, CustomStringConvertible {
    let id: Int64
    var description: String { "bundle \(id) cannot be read back" }
}
