import Foundation
import GRDB
import OCSDomain

/// Hosts and their history. A host is one row: the server its `serverId` names, or for a host
/// that never gave one, its case-folded name. History keeps each change of what a host reports,
/// not each poll.
///
/// Anyone who can reach the feed can poll, so a poll only ever changes the host it identifies
/// itself as: a name-only poll never touches a host that reported a serverId, and no poll merges
/// two hosts. What polls can add is bounded by `limits`.
public struct CheckInStore: Sendable {
    let database: any SQLDatabase
    public let limits: CheckInLimits
    public let acceptance: CheckInAcceptance
    /// Shared by the copies of this store: the server records every check-in through one.
    let newHosts = NewHostRate()

    /// `acceptance`: the server passes its setting; `.any` for stores that only read, and tests
    /// of how check-ins update hosts.
    public init(database: any SQLDatabase, limits: CheckInLimits = .standard, acceptance: CheckInAcceptance = .any) {
        self.database = database
        self.limits = limits
        self.acceptance = acceptance
    }

    // MARK: Recording polls

    /// Records check-ins in one durable transaction: when this returns, all those recorded are
    /// durable. Returns each one's outcome and the published rule set's serial as that transaction
    /// saw it, which no commit can change before it ends (one writer at a time, on either engine):
    /// what a poll answered after its check-in needs to serve a feed at least as fresh as its commit.
    ///
    /// Each finds its host (see `CheckInWriter`), whose `last_seen` and poll count it
    /// moves; a check-in that changes what the host reports also adds a history entry.
    @discardableResult
    public func record(_ checkIns: [CheckIn]) throws -> CheckInBatch {
        if let sqlite = database as? OCSDatabase {
            // SQLite's measured hot path: the same statements through its C API (see `RawStatement`).
            return try sqlite.writer.write { db in
                try writer().record(checkIns, with: try SQLiteCheckInStatements(db))
            }
        }
        let record = {
            try database.write { db in try writer().record(checkIns, with: PortableCheckInStatements(db)) }
        }
        do {
            return try record()
        } catch SQLError.connectionLost {
            // Lost mid-transaction (PostgreSQL restarted, a network failure): the batch may or
            // may not have committed, and its polls are still waiting. Once more, on a new
            // connection. When the first did commit, its repeat finds known hosts reporting what
            // they already reported: only the poll count moves again (and a host that reported
            // two states in one batch gets its two history entries again). When it did not, new
            // hosts count twice against the per-address rate for this minute. A second failure
            // fails the batch: its polls are answered 503.
            return try record()
        }
    }

    func writer() -> CheckInWriter {
        CheckInWriter(limits: limits, acceptance: acceptance, newHosts: newHosts)
    }

    // MARK: Reading

    /// Known hosts in the order they first appeared (by id, which never changes, so pages neither
    /// skip nor repeat a host that polls meanwhile). `lastSeenBefore` keeps only hosts that have
    /// not polled since then (stale ones), `lastSeenSince` only those that have.
    public func hosts(lastSeenBefore: Date? = nil, lastSeenSince: Date? = nil, page: PageRequest = PageRequest()) throws -> Page<HostState> {
        var sql = "SELECT * FROM hosts WHERE id > ?"
        var arguments: [(any SQLValueConvertible)?] = [page.cursor?.key ?? 0]
        if let lastSeenBefore {
            sql += " AND last_seen < ?"
            arguments.append(DatabaseTimestamp(lastSeenBefore))
        }
        if let lastSeenSince {
            sql += " AND last_seen >= ?"
            arguments.append(DatabaseTimestamp(lastSeenSince))
        }
        sql += " ORDER BY id LIMIT ?"
        arguments.append(page.limit + 1)
        let rows = try database.read { db in try db.rows(sql, SQLArguments(arguments)).map(HostState.init(row:)) }
        return Page(reading: rows, limit: page.limit, kind: .hosts, key: \.id)
    }

    /// The host a reference names (see `HostReference`), or nil.
    public func host(_ reference: HostReference) throws -> HostState? {
        try database.read { db in try Self.host(reference, in: db) }
    }

    static func host(_ reference: HostReference, in db: any SQLTransaction) throws -> HostState? {
        for lookup in reference.lookups {
            let sql: String
            let argument: any SQLValueConvertible
            switch lookup {
            case .id(let id): (sql, argument) = ("SELECT * FROM hosts WHERE id = ?", id)
            case .serverID(let serverID): (sql, argument) = ("SELECT * FROM hosts WHERE server_id = ?", serverID)
            case .name(let name):
                (sql, argument) = ("SELECT * FROM hosts WHERE lower(server_name) = ? ORDER BY server_id IS NULL, last_seen DESC LIMIT 1", name.lowercased())
            }
            if let host = try db.record(HostState.self, sql, [argument]) { return host }
        }
        return nil
    }

    /// A host's history, newest change first.
    public func history(hostID: Int64, page: PageRequest = PageRequest()) throws -> Page<HostHistoryEntry> {
        let rows = try database.read { db in
            try db.rows(
                "SELECT * FROM host_history WHERE host_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
                [hostID, page.cursor?.key ?? Int64.max, page.limit + 1]
            ).map(HostHistoryEntry.init(row:))
        }
        return Page(reading: rows, limit: page.limit, kind: .history, key: \.id)
    }

    /// From `host_count`, kept by triggers: one row, however many hosts (`/metrics` reads it on every scrape).
    public func hostCount() throws -> Int {
        try database.read { db in try Self.hostCount(db) }
    }

    static func hostCount(_ db: any SQLTransaction) throws -> Int {
        try db.value(Int.self, "SELECT hosts FROM host_count WHERE id = 1") ?? 0
    }

    public func historyCount() throws -> Int {
        try database.read { db in try db.value(Int.self, "SELECT COUNT(*) FROM host_history") ?? 0 }
    }

    /// A `hosts` row's site mark, nil for this instance's own hosts.
    static func site(_ row: SQLRow) throws -> HostSite? {
        guard let name: String = try row["site"], let exportedAt: Date = try row["site_exported_at"] else { return nil }
        return HostSite(name: name, exportedAt: exportedAt)
    }

    /// The reported state in a `hosts` or `host_history` row (they share these columns).
    fileprivate static func checkIn(_ row: SQLRow, time: Date) throws -> CheckIn {
        CheckIn(
            serverID: try row["server_id"], serverName: try row["server_name"], build: try row["build"], orgID: try row["org_id"],
            applied: list(try row["applied"]), blocked: list(try row["blocked"]),
            mitigationsEnabled: try row["mitigations_enabled"], dataCollectionEnabled: try row["data_collection_enabled"],
            remoteAddress: try row["remote_address"], userAgent: try row["user_agent"], time: time
        )
    }

    // MARK: Forgetting

    /// Removes a decommissioned host and its history, with an audit entry in the same
    /// transaction; a refusal is audited too. A host that polls again afterwards is a new host.
    @discardableResult
    public func forget(_ reference: HostReference, context: ChangeContext) throws(HostChangeError) -> HostState {
        let time = Date()
        do {
            return try database.write { db in
                guard let host = try Self.host(reference, in: db) else { throw HostChangeError.notFound(reference.text) }
                let entries = try db.value(Int.self, "SELECT COUNT(*) FROM host_history WHERE host_id = ?", [host.id]) ?? 0
                try db.execute("DELETE FROM host_history WHERE host_id = ?", [host.id])
                try db.execute("DELETE FROM hosts WHERE id = ?", [host.id])
                let serverID = host.latest.serverID.map { " serverId \($0)" } ?? ""
                try AuditLog.append(AuditEntry(
                    time: time, context: context, action: Self.forgetAction, ruleID: nil, revision: nil,
                    outcome: "ok: host \(host.id) \(host.latest.serverName ?? "-")\(serverID), \(entries) history entries"
                ), in: db)
                return host
            }
        } catch {
            let failure = (error as? HostChangeError) ?? .storage("\(error)")
            try? AuditLog(database: database).append(AuditEntry(
                time: time, context: context, action: Self.forgetAction, ruleID: nil, revision: nil,
                outcome: "refused: \(failure.description)"
            ))
            throw failure
        }
    }

    /// The audit action of forgetting a host.
    public static let forgetAction = "host.forget"

    // MARK: Stored id lists

    /// A JSON array of mitigation ids. Ids are `[A-Za-z0-9._-]` (FeedQuery and RuleValidator
    /// enforce it), which JSON strings carry as they are: no encoder needed on the hot path.
    /// Coverage queries rely on this form too: `"ID"` (quotes included) occurs in the text
    /// exactly when ID is in the list.
    static func json(_ ids: [String]) -> String {
        "[" + ids.map { "\"\($0)\"" }.joined(separator: ",") + "]"
    }

    private static func list(_ json: String) -> [String] {
        (try? JSONDecoder().decode([String].self, from: Data(json.utf8))) ?? []
    }
}

/// How a URL or the command line names a host: its id (`12`), its serverId (a GUID, braces
/// optional) or its name (case-insensitively; the host that last reported it, one with a
/// serverId first). Tried in that order, so a host named `12` is found by name when no host has id 12.
public struct HostReference: Sendable, Equatable {
    public let text: String

    enum Lookup {
        case id(Int64)
        case serverID(String)
        case name(String)
    }

    let lookups: [Lookup]

    /// Nil when `text` can name no host: neither a GUID nor a host name.
    public init?(_ text: String) {
        var lookups: [Lookup] = []
        if text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let id = Int64(text) { lookups.append(.id(id)) }
        if let guid = HostIdentity.normalizedGUID(text) { lookups.append(.serverID(guid)) }
        if HostIdentity.isValidName(text) { lookups.append(.name(text)) }
        guard !lookups.isEmpty else { return nil }
        self.text = text
        self.lookups = lookups
    }

    public static func == (lhs: HostReference, rhs: HostReference) -> Bool { lhs.text == rhs.text }

    /// What a reference may be, for messages.
    public static let form = "a host id, serverId or name (letters, digits, '.', '-', '_')"
}

/// Why a host change was refused.
public enum HostChangeError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(String)
    case notEnrolled(String)
    case storage(String)

    public var description: String {
        switch self {
        case .notFound(let reference): "no host '\(reference.prefix(80))': its id, serverId or name as `ocs hosts` lists them"
        case .notEnrolled(let reference): "host '\(reference.prefix(80))' holds no credential: it never enrolled, or its credential was revoked"
        case .storage(let message): "the database failed: \(message)"
        }
    }
}

extension HostState: SQLRowDecodable {
    /// A row of `hosts`.
    public init(row: SQLRow) throws {
        self.init(
            id: try row["id"], latest: try CheckInStore.checkIn(row, time: try row["last_seen"]), firstSeen: try row["first_seen"],
            pollCount: try row["poll_count"],
            verified: try row.value("credential_hash") != .null || row.value("source") == .text("inventory") || (try row["site_verified"] as Int64?) == 1,
            source: HostSource(rawValue: try row["source"]) ?? .poll,
            site: try CheckInStore.site(row)
        )
    }
}

extension HostHistoryEntry: SQLRowDecodable {
    /// A row of `host_history`.
    public init(row: SQLRow) throws {
        self.init(id: try row["id"], state: try CheckInStore.checkIn(row, time: try row["changed_at"]))
    }
}
