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
    let database: OCSDatabase
    public let limits: CheckInLimits
    public let acceptance: CheckInAcceptance
    /// Shared by the copies of this store: the server records every check-in through one.
    let newHosts = NewHostRate()

    /// `acceptance`: the server passes its setting; `.any` for stores that only read, and tests
    /// of how check-ins update hosts.
    public init(database: OCSDatabase, limits: CheckInLimits = .standard, acceptance: CheckInAcceptance = .any) {
        self.database = database
        self.limits = limits
        self.acceptance = acceptance
    }

    // MARK: Recording polls

    /// Records check-ins in one durable transaction: when this returns, all those recorded are on
    /// disk. Returns each one's outcome and the published rule set's serial as that transaction
    /// saw it, which no commit can change before it ends (SQLite has one writer): what a poll
    /// answered after its check-in needs to serve a feed at least as fresh as its commit.
    ///
    /// Each finds its host (see `existingHost`), whose `last_seen` and poll count it moves; a
    /// check-in that changes what the host reports also adds a history entry.
    @discardableResult
    public func record(_ checkIns: [CheckIn]) throws -> CheckInBatch {
        try database.writer.write { db in
            var statements = try Statements(db, limits: limits, acceptance: acceptance, newHosts: newHosts)
            var outcomes: [CheckInOutcome] = []
            outcomes.reserveCapacity(checkIns.count)
            for checkIn in checkIns {
                outcomes.append(try statements.record(checkIn, in: db))
            }
            let serial = try statements.serial.run(binding: { _ in }, reading: { $0.integer(0) }) ?? 0
            return CheckInBatch(serial: serial, outcomes: outcomes)
        }
    }

    /// The statements of a check-in, fetched from the connection's cache once per transaction
    /// and run through SQLite's C API (see `RawStatement`): every poll of an identified host runs
    /// two to four of them (three for a repeat with a serverId, four for a change or a new host).
    /// Measured: GRDB's `Row` mapping and argument arrays cost more than the rest of a repeat
    /// poll's check-in, so this writer alone stays on the C API.
    private struct Statements {
        let limits: CheckInLimits
        let acceptance: CheckInAcceptance
        let newHosts: NewHostRate
        let reportByCredential: RawStatement
        let reportByServerID: RawStatement
        let nameOnlyReport: RawStatement
        let reportByName: RawStatement
        let insertHost: RawStatement
        let updateHost: RawStatement
        let updateSeen: RawStatement
        let insertHistory: RawStatement
        let serial: RawStatement
        /// The hosts in the database, counted on the first new host of the transaction.
        var hostCount: Int64?

        init(_ db: Database, limits: CheckInLimits, acceptance: CheckInAcceptance, newHosts: NewHostRate) throws {
            self.limits = limits
            self.acceptance = acceptance
            self.newHosts = newHosts
            reportByCredential = try RawStatement(db, sql: CheckInStore.selectReportByCredential)
            reportByServerID = try RawStatement(db, sql: CheckInStore.selectReportByServerID)
            nameOnlyReport = try RawStatement(db, sql: CheckInStore.selectNameOnlyReport)
            reportByName = try RawStatement(db, sql: CheckInStore.selectReportByName)
            insertHost = try RawStatement(db, sql: CheckInStore.insertHost)
            updateHost = try RawStatement(db, sql: CheckInStore.updateHost)
            updateSeen = try RawStatement(db, sql: CheckInStore.updateSeen)
            insertHistory = try RawStatement(db, sql: CheckInStore.insertHistory)
            serial = try RawStatement(db, sql: RuleStore.selectSerial)
        }

        mutating func record(_ poll: CheckIn, in db: Database) throws -> CheckInOutcome {
            let time = DatabaseTimestamp(poll.time).text
            switch try existingHost(for: poll) {
            case .refused(let refusal):
                return .refused(refusal)
            case .known(let id, let previous):
                let report = previous.updated(by: poll)
                guard report != previous else {
                    // A repeat, nearly every poll: only what moves on every poll is set, so
                    // SQLite leaves alone the indexes of the columns that did not change (it moves
                    // the entries of every index holding a column an UPDATE assigns, changed or not).
                    try updateSeen.run { parameters in
                        parameters.append(poll.remoteAddress)
                        parameters.append(poll.userAgent)
                        parameters.append(time)
                        parameters.append(id)
                    }
                    return .recorded
                }
                try updateHost.run { parameters in
                    Self.appendHostValues(report, of: poll, at: time, to: &parameters)
                    parameters.append(id)
                }
                guard try historyHasRoom(host: id, at: poll.time, in: db) else { return .recordedWithoutHistory }
                try addHistory(report, of: poll, host: id, at: time)
                return .recorded
            case .new:
                if let refusal = try admitNewHost(poll, in: db) { return .refused(refusal) }
                let report = Report().updated(by: poll)
                try insertHost.run { parameters in
                    Self.appendHostValues(report, of: poll, at: time, to: &parameters)
                    parameters.append(time)  // last_seen, after first_seen
                }
                try addHistory(report, of: poll, host: db.lastInsertedRowID, at: time)
                return .recorded
            }
        }

        /// The values `insertHost` and `updateHost` share, in their order: the report, the poll's
        /// address and agent, and its time (`updateHost`'s `last_seen`, `insertHost`'s `first_seen`).
        private static func appendHostValues(_ report: Report, of poll: CheckIn, at time: String, to parameters: inout RawStatement.Parameters) {
            report.bind(to: &parameters)
            parameters.append(poll.remoteAddress)
            parameters.append(poll.userAgent)
            parameters.append(time)
        }

        private func addHistory(_ report: Report, of poll: CheckIn, host: Int64, at time: String) throws {
            try insertHistory.run { parameters in
                parameters.append(host)
                parameters.append(time)
                report.bind(to: &parameters)
                parameters.append(poll.remoteAddress)
                parameters.append(poll.userAgent)
            }
        }

        /// Nil when a poll may add a host: the database is below its most hosts (`host_count`,
        /// kept by triggers, read once a transaction) and the poll's address added fewer than its
        /// minute's most (`NewHostRate`). Runs only for a new host (rare once a fleet has polled).
        private mutating func admitNewHost(_ poll: CheckIn, in db: Database) throws -> CheckInRefusal? {
            let count: Int64
            if let hostCount {
                count = hostCount
            } else {
                count = Int64(try CheckInStore.hostCount(GRDBTransaction(db: db)))
            }
            hostCount = count
            guard count < limits.maximumHosts else { return .maximumHosts }
            if let address = poll.remoteAddress, !newHosts.admit(from: address, at: poll.time, limit: limits.newHostsPerAddressPerMinute) {
                return .newHostRate
            }
            hostCount = count + 1
            return nil
        }

        /// Whether the host added fewer than its hour's most history entries before `time`: true
        /// unless its entry that many back changed within the hour. Runs only for a change.
        private func historyHasRoom(host: Int64, at time: Date, in db: Database) throws -> Bool {
            guard let bound = try DatabaseTimestamp.fetchOne(
                db, sql: "SELECT changed_at FROM host_history WHERE host_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
                arguments: [host, limits.historyEntriesPerHostPerHour - 1]
            ) else { return true }
            return bound.date <= time.addingTimeInterval(-3600)
        }

        /// Where a poll's check-in goes.
        enum Destination {
            case known(Int64, Report)
            case new
            case refused(CheckInRefusal)
        }

        /// The host a poll belongs to:
        /// - with a credential, the host holding it, if the poll names no other serverId;
        /// - without one, nothing while only enrolled hosts are recorded; otherwise
        ///   - with a `serverId`, the host with that serverId unless it enrolled, else a new one (a
        ///     name-only host of the same name is left as it is: a poll cannot prove it is that server);
        ///   - with only a name, the name-only host of that name (case-insensitively), else a new
        ///     one, unless a host with a serverId reported the name: that host is not changed.
        private func existingHost(for poll: CheckIn) throws -> Destination {
            if let credential = poll.credentialDigest {
                guard let host = try reportByCredential.run(binding: { $0.append(credential) }, reading: Report.host),
                      poll.serverID == nil || poll.serverID == host.report.serverID
                else { return .refused(.invalidCredential) }
                return .known(host.id, host.report)
            }
            guard acceptance == .any else { return .refused(.unauthenticated) }
            guard let serverID = poll.serverID else {
                guard let nameKey = poll.serverName?.lowercased() else { return .new }
                if let host = try nameOnlyReport.run(binding: { $0.append(nameKey) }, reading: Report.host) {
                    return .known(host.id, host.report)
                }
                if try reportByName.run(binding: { $0.append(nameKey) }, reading: Report.host) != nil {
                    return .refused(.nameOfIdentifiedHost)
                }
                return .new
            }
            if let host = try reportByServerID.run(binding: { $0.append(serverID) }, reading: Report.host) {
                return host.enrolled ? .refused(.enrolledHost) : .known(host.id, host.report)
            }
            return .new
        }
    }

    /// What a host reports, as stored: two reports are compared column by column to tell a
    /// change from a repeat (the id lists as their stored JSON text, without decoding).
    struct Report: Equatable {
        var serverID: String?
        var serverName: String?
        var build: String?
        var orgID: String?
        var applied = "[]"
        var blocked = "[]"
        var mitigationsEnabled: Bool?
        var dataCollectionEnabled: Bool?

        /// This report as a poll updates it: facts the poll leaves out keep their value, the id
        /// lists are the poll's, and a name that differs only in case keeps the stored spelling.
        func updated(by poll: CheckIn) -> Report {
            var report = self
            report.serverID = poll.serverID ?? serverID
            if let name = poll.serverName, !(serverName.map(name.equalsIgnoringASCIICase) ?? false) { report.serverName = name }
            report.build = poll.build ?? build
            report.orgID = poll.orgID ?? orgID
            report.applied = CheckInStore.json(poll.applied)
            report.blocked = CheckInStore.json(poll.blocked)
            report.mitigationsEnabled = poll.mitigationsEnabled ?? mitigationsEnabled
            report.dataCollectionEnabled = poll.dataCollectionEnabled ?? dataCollectionEnabled
            return report
        }

        /// Appends the values of `reportColumns`, in their order.
        func bind(to parameters: inout RawStatement.Parameters) {
            parameters.append(serverID)
            parameters.append(serverName)
            parameters.append(build)
            parameters.append(orgID)
            parameters.append(applied)
            parameters.append(blocked)
            parameters.append(mitigationsEnabled)
            parameters.append(dataCollectionEnabled)
        }

        /// A row of `selectReport`, read by position (`id`, then `reportColumns`, then whether
        /// the host enrolled): every check-in of a known host reads one.
        static func host(_ row: RawStatement.Columns) -> (id: Int64, report: Report, enrolled: Bool) {
            (row.integer(0), Report(
                serverID: row.text(1), serverName: row.text(2), build: row.text(3), orgID: row.text(4),
                applied: row.text(5) ?? "[]", blocked: row.text(6) ?? "[]",
                mitigationsEnabled: row.flag(7), dataCollectionEnabled: row.flag(8)
            ), row.flag(9) ?? false)
        }
    }

    private static let reportColumns = "server_id, server_name, build, org_id, applied, blocked, mitigations_enabled, data_collection_enabled"
    private static let selectReport = "SELECT id, \(reportColumns), credential_hash IS NOT NULL FROM hosts"
    // Whole statements made once: the statement cache is keyed by the SQL text, so a string
    // built per check-in would also be hashed per check-in.
    private static let selectReportByName = "\(selectReport) WHERE lower(server_name) = ? ORDER BY server_id IS NULL, last_seen DESC LIMIT 1"
    private static let selectReportByServerID = "\(selectReport) WHERE server_id = ?"
    private static let selectReportByCredential = "\(selectReport) WHERE credential_hash = ?"
    private static let selectNameOnlyReport = "\(selectReport) WHERE lower(server_name) = ? AND server_id IS NULL LIMIT 1"
    private static let insertHost = """
        INSERT INTO hosts (\(reportColumns), remote_address, user_agent, first_seen, last_seen, poll_count)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
        """
    private static let updateHost = """
        UPDATE hosts SET (\(reportColumns), remote_address, user_agent) = (?, ?, ?, ?, ?, ?, ?, ?, ?, ?),
            last_seen = max(last_seen, ?), poll_count = poll_count + 1
        WHERE id = ?
        """
    private static let updateSeen = """
        UPDATE hosts SET remote_address = ?, user_agent = ?, last_seen = max(last_seen, ?), poll_count = poll_count + 1
        WHERE id = ?
        """
    private static let insertHistory = """
        INSERT INTO host_history (host_id, changed_at, \(reportColumns), remote_address, user_agent)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

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
        let rows = try database.read { db in try db.rows(sql, SQLArguments(arguments)).map(Self.host) }
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
            if let row = try db.row(sql, [argument]) { return try host(row) }
        }
        return nil
    }

    /// A host's history, newest change first.
    public func history(hostID: Int64, page: PageRequest = PageRequest()) throws -> Page<HostHistoryEntry> {
        let rows = try database.read { db in
            try db.rows(
                "SELECT * FROM host_history WHERE host_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
                [hostID, page.cursor?.key ?? Int64.max, page.limit + 1]
            ).map { row in HostHistoryEntry(id: try row["id"], state: try Self.checkIn(row, time: try row["changed_at"])) }
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

    /// A `hosts` row as a host.
    static func host(_ row: SQLRow) throws -> HostState {
        HostState(
            id: try row["id"], latest: try checkIn(row, time: try row["last_seen"]), firstSeen: try row["first_seen"], pollCount: try row["poll_count"],
            verified: try row.value("credential_hash") != .null
        )
    }

    /// The reported state in a `hosts` or `host_history` row (they share these columns).
    private static func checkIn(_ row: SQLRow, time: Date) throws -> CheckIn {
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
