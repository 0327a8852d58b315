import Foundation
import OCSDomain

extension CheckInStore {
    /// The audit action of importing a site's check-in file.
    public static let siteImportAction = "hosts.site-import"

    /// A disconnected site as the central instance knows it: the certificate its files must be
    /// signed by, and the export time of the last file imported.
    public struct SitePin: Sendable, Equatable {
        public let name: String
        /// DER.
        public let certificate: Data
        public let fingerprint: String
        public let pinnedAt: Date
        public let lastExportedAt: Date?
        public let lastImportedAt: Date?
    }

    /// The certificate a site's file was verified with, and what it may do to the site's pin.
    public struct SiteSigner: Sendable, Equatable {
        public let certificate: Data
        public let fingerprint: String
        public let pin: PinChange

        public init(certificate: Data, fingerprint: String, pin: PinChange) {
            self.certificate = certificate
            self.fingerprint = fingerprint
            self.pin = pin
        }
    }

    /// What a file may do to its site's pin, decided inside the transaction that records it, so two
    /// imports at once never move a pin neither asked to move.
    public enum PinChange: Sendable, Equatable {
        /// The site must pin this certificate already.
        case none
        /// The site's first file: pins this certificate; refused if the site was pinned meanwhile to another.
        case first
        /// The operator moves the pin to this certificate (`--repin`).
        case repin
    }

    public func site(named name: String) throws -> SitePin? {
        try database.read { db in try Self.site(named: name, in: db) }
    }

    /// Every site, by name.
    public func sites() throws -> [SitePin] {
        try database.read { db in try db.rows("SELECT * FROM sites ORDER BY name").map(Self.pin) }
    }

    static func site(named name: String, in db: any SQLTransaction) throws -> SitePin? {
        try db.row("SELECT * FROM sites WHERE name = ?", [name]).map(Self.pin)
    }

    /// Records `site`'s file (verified by the caller against `signer`) in one transaction, audited
    /// as one entry: each host is added or updated as the check-in it last made at the site (see
    /// `CheckInWriter.record(siteHost:)`). Refused, changing nothing, when the site pins another
    /// certificate than `signer` and `signer` does not move the pin, or when the file was exported
    /// no later than the last one imported (it would move the site's hosts back).
    public func record(site name: String, checkIns: SiteCheckIns, signer: SiteSigner, context: ChangeContext, at time: Date = Date()) throws -> [InventoryOutcome] {
        try database.write { db in
            let statements = PortableCheckInStatements(db)
            if let pin = try Self.site(named: name, in: db) {
                if pin.fingerprint != signer.fingerprint {
                    guard signer.pin == .repin else { throw SiteImportError.unpinnedSigner(site: name, pinned: pin.fingerprint, signer: signer.fingerprint) }
                    try db.execute("UPDATE sites SET certificate = ?, fingerprint = ?, pinned_at = ? WHERE name = ?",
                                   [signer.certificate, signer.fingerprint, DatabaseTimestamp(time), name])
                }
                if let last = pin.lastExportedAt, checkIns.exportedAt <= last {
                    throw SiteImportError.notNewer(site: name, exportedAt: checkIns.exportedAt, last: last)
                }
            } else {
                guard signer.pin != .none else { throw SiteImportError.unknownSite(name) }
                try db.execute("INSERT INTO sites (name, certificate, fingerprint, pinned_at) VALUES (?, ?, ?, ?)",
                               [name, signer.certificate, signer.fingerprint, DatabaseTimestamp(time)])
            }
            let outcomes = try writer().record(site: checkIns.hosts, of: name, exportedAt: checkIns.exportedAt, with: statements)
            try db.execute("UPDATE sites SET last_exported_at = ?, last_imported_at = ? WHERE name = ?",
                           [DatabaseTimestamp(checkIns.exportedAt), DatabaseTimestamp(time), name])
            let count = { (result: InventoryOutcome.Result) in outcomes.count { $0.result == result } }
            try AuditLog.append(AuditEntry(
                time: time, context: context, action: Self.siteImportAction, ruleID: nil, revision: nil,
                outcome: "ok: site \(name), exported \(checkIns.exportedAt.formatted(.iso8601)), signed by \(signer.fingerprint): "
                    + "\(outcomes.count) hosts: \(count(.added)) added, \(count(.updated)) updated, \(count(.skipped)) skipped"
            ), in: db)
            return outcomes
        }
    }

    /// Audits a site's file refused at import, naming why; nothing else changes.
    public func auditSiteRefusal(_ reason: String, context: ChangeContext, at time: Date = Date()) throws {
        try AuditLog(database: database).append(AuditEntry(
            time: time, context: context, action: Self.siteImportAction, ruleID: nil, revision: nil, outcome: "refused: \(reason)"
        ))
    }

    /// This instance's own hosts seen since `since` (every one when nil), with a serverId, as a
    /// site exports them: another site's hosts are not its to report. At most `limit`.
    public func siteExport(since: Date?, limit: Int) throws -> [SiteCheckIns.Host] {
        var hosts: [SiteCheckIns.Host] = []
        try PageRequest.walk { page in
            try self.hosts(lastSeenSince: since, page: page)
        } handle: { page in
            for host in page.items where host.site == nil && host.latest.serverID != nil {
                guard hosts.count < limit else { throw SiteImportError.tooManyHosts(limit) }
                hosts.append(SiteCheckIns.Host(latest: host.latest, firstSeen: host.firstSeen, verified: host.verified, source: host.source))
            }
        }
        return hosts
    }

    private static func pin(_ row: SQLRow) throws -> SitePin {
        SitePin(
            name: try row["name"], certificate: try row["certificate"], fingerprint: try row["fingerprint"], pinnedAt: try row["pinned_at"],
            lastExportedAt: try row["last_exported_at"], lastImportedAt: try row["last_imported_at"]
        )
    }
}

/// Why a site's check-in file was not recorded, or could not be written; nothing changed.
public enum SiteImportError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownSite(String)
    case unpinnedSigner(site: String, pinned: String, signer: String)
    case notNewer(site: String, exportedAt: Date, last: Date)
    case tooManyHosts(Int)

    public var description: String {
        switch self {
        case .unknownSite(let site):
            "no site \(site) is known here: give its certificate (--cert) to pin it with its first file"
        case .unpinnedSigner(let site, let pinned, let signer):
            "signed by SHA-256 \(signer), but site \(site) pins SHA-256 \(pinned): give --repin with --cert to move the pin, if the site changed its key"
        case .notNewer(let site, let exportedAt, let last):
            "it was exported at \(exportedAt.formatted(.iso8601)), not after the last file of site \(site) imported (exported at \(last.formatted(.iso8601))): it would move the site's hosts back"
        case .tooManyHosts(let limit): "more than \(limit) hosts to export: export those seen lately (--since)"
        }
    }
}
