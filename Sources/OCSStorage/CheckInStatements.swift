import Foundation
import GRDB
import OCSDomain

/// The statements a check-in runs, inside one write transaction: two to four per poll (three for
/// a repeat with a serverId, four for a change or a new host), so each engine runs them its
/// fastest way. `nameKey` is a name case-folded as `lower(server_name)` folds it.
protocol CheckInStatements {
    func host(byCredential digest: String) throws -> KnownHost?
    func host(byServerID serverID: String) throws -> KnownHost?
    /// The host that last reported the name, one with a serverId first.
    func host(byNameKey nameKey: String) throws -> KnownHost?
    /// The host of that name that never reported a serverId.
    func nameOnlyHost(nameKey: String) throws -> KnownHost?
    /// Adds a host first seen now; returns its id.
    func insertHost(_ report: HostReport, by poll: CheckIn, at time: String) throws -> Int64
    func updateHost(_ id: Int64, to report: HostReport, by poll: CheckIn, at time: String) throws
    /// Moves only what every poll moves: address, agent, last seen, poll count.
    func updateSeen(host id: Int64, by poll: CheckIn, at time: String) throws
    func insertHistory(_ report: HostReport, by poll: CheckIn, host id: Int64, at time: String) throws
    /// When the host's history entry `back` entries before its newest changed, if it has one.
    func historyEntryTime(host id: Int64, back: Int) throws -> Date?
    /// The hosts in the database (`host_count`, kept by triggers).
    func hostCount() throws -> Int64
    /// The published rule set's serial.
    func serial() throws -> Int64
}

/// The statements' SQL, one text per engine: the same statements but for the greater of two
/// timestamps (SQLite's `max`, PostgreSQL's `GREATEST`). Made once, since SQLite's statement
/// cache is keyed by the text: a string built per check-in would be hashed per check-in.
struct CheckInSQL: Sendable {
    static let sqlite = CheckInSQL(.sqlite)
    static let postgres = CheckInSQL(.postgres)

    static func forEngine(_ engine: SQLEngine) -> CheckInSQL {
        switch engine {
        case .sqlite: sqlite
        case .postgres: postgres
        }
    }

    /// A host whose record nobody outside can forge: enrolled (only polls with its credential
    /// change it), an inventory host (only reports an API token or the command line sends do), or
    /// a site's host its site had verified (only that site's signed files change it).
    static let verified = "(credential_hash IS NOT NULL OR source = 'inventory' OR site_verified = 1)"

    /// The columns of `HostReport`, in the order statements bind and read them.
    static let reportColumns = "server_id, server_name, build, org_id, applied, blocked, mitigations_enabled, data_collection_enabled"
    private static let selectHost = "SELECT id, \(reportColumns), credential_hash IS NOT NULL AS enrolled, source = 'inventory' AS inventory, site FROM hosts"

    let hostByName = "\(selectHost) WHERE lower(server_name) = ? ORDER BY server_id IS NULL, last_seen DESC LIMIT 1"
    let hostByServerID = "\(selectHost) WHERE server_id = ?"
    let hostByCredential = "\(selectHost) WHERE credential_hash = ?"
    let nameOnlyHost = "\(selectHost) WHERE lower(server_name) = ? AND server_id IS NULL LIMIT 1"
    let insertHost = """
        INSERT INTO hosts (\(reportColumns), remote_address, user_agent, first_seen, last_seen, poll_count)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) RETURNING id
        """
    let updateHost: String
    let updateSeen: String
    let insertHistory = """
        INSERT INTO host_history (host_id, changed_at, \(reportColumns), remote_address, user_agent)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """
    let historyEntryTime = "SELECT changed_at FROM host_history WHERE host_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?"
    let hostCount = "SELECT hosts FROM host_count WHERE id = 1"
    let markInventory = "UPDATE hosts SET source = 'inventory' WHERE id = ?"
    let markSite = "UPDATE hosts SET site = ?, site_exported_at = ?, site_verified = ?, source = ? WHERE id = ?"
    let setFirstSeen = "UPDATE hosts SET first_seen = ? WHERE id = ? AND first_seen > ?"

    private init(_ engine: SQLEngine) {
        let lastSeen = engine.greatest("last_seen", "?")
        updateHost = """
            UPDATE hosts SET (\(Self.reportColumns), remote_address, user_agent) = (?, ?, ?, ?, ?, ?, ?, ?, ?, ?),
                last_seen = \(lastSeen), poll_count = poll_count + 1
            WHERE id = ?
            """
        updateSeen = """
            UPDATE hosts SET remote_address = ?, user_agent = ?, last_seen = \(lastSeen), poll_count = poll_count + 1
            WHERE id = ?
            """
    }
}

/// The texts a check-in runs on PostgreSQL, as the seam passes them: its connections prepare each
/// once and run it by name after (parsed and planned once, not on every poll). They report the
/// rows they return, never how many they changed, which the check-in writer never asks.
public enum PostgresCheckInStatements {
    public static let texts: Set<String> = {
        let sql = CheckInSQL.postgres
        return [
            sql.hostByName, sql.hostByServerID, sql.hostByCredential, sql.nameOnlyHost, sql.insertHost, sql.updateHost,
            sql.updateSeen, sql.insertHistory, sql.historyEntryTime, sql.hostCount, RuleStore.selectSerial,
        ]
    }()
}

/// SQLite's check-in statements, fetched from the connection's cache once per transaction and
/// run through its C API (see `RawStatement`). Measured: GRDB's `Row` mapping and argument
/// arrays cost more than the rest of a repeat poll's check-in, so this writer alone stays on the C API.
struct SQLiteCheckInStatements: CheckInStatements {
    private let db: Database
    private let hostByCredential: RawStatement
    private let hostByServerID: RawStatement
    private let hostByName: RawStatement
    private let nameOnly: RawStatement
    private let insertHostStatement: RawStatement
    private let updateHostStatement: RawStatement
    private let updateSeenStatement: RawStatement
    private let insertHistoryStatement: RawStatement
    private let serialStatement: RawStatement

    init(_ db: Database) throws {
        let sql = CheckInSQL.sqlite
        self.db = db
        hostByCredential = try RawStatement(db, sql: sql.hostByCredential)
        hostByServerID = try RawStatement(db, sql: sql.hostByServerID)
        hostByName = try RawStatement(db, sql: sql.hostByName)
        nameOnly = try RawStatement(db, sql: sql.nameOnlyHost)
        insertHostStatement = try RawStatement(db, sql: sql.insertHost)
        updateHostStatement = try RawStatement(db, sql: sql.updateHost)
        updateSeenStatement = try RawStatement(db, sql: sql.updateSeen)
        insertHistoryStatement = try RawStatement(db, sql: sql.insertHistory)
        serialStatement = try RawStatement(db, sql: RuleStore.selectSerial)
    }

    func host(byCredential digest: String) throws -> KnownHost? {
        try hostByCredential.run(binding: { $0.append(digest) }, reading: Self.host)
    }

    func host(byServerID serverID: String) throws -> KnownHost? {
        try hostByServerID.run(binding: { $0.append(serverID) }, reading: Self.host)
    }

    func host(byNameKey nameKey: String) throws -> KnownHost? {
        try hostByName.run(binding: { $0.append(nameKey) }, reading: Self.host)
    }

    func nameOnlyHost(nameKey: String) throws -> KnownHost? {
        try nameOnly.run(binding: { $0.append(nameKey) }, reading: Self.host)
    }

    func insertHost(_ report: HostReport, by poll: CheckIn, at time: String) throws -> Int64 {
        let id = try insertHostStatement.run(binding: { parameters in
            Self.appendHostValues(report, of: poll, at: time, to: &parameters)
            parameters.append(time)  // last_seen, after first_seen
        }, reading: { $0.integer(0) })
        guard let id else { throw SQLError.unexpectedValue(column: "id", value: .null, expected: "the new host's id") }
        return id
    }

    func updateHost(_ id: Int64, to report: HostReport, by poll: CheckIn, at time: String) throws {
        try updateHostStatement.run { parameters in
            Self.appendHostValues(report, of: poll, at: time, to: &parameters)
            parameters.append(id)
        }
    }

    func updateSeen(host id: Int64, by poll: CheckIn, at time: String) throws {
        try updateSeenStatement.run { parameters in
            parameters.append(poll.remoteAddress)
            parameters.append(poll.userAgent)
            parameters.append(time)
            parameters.append(id)
        }
    }

    func insertHistory(_ report: HostReport, by poll: CheckIn, host id: Int64, at time: String) throws {
        try insertHistoryStatement.run { parameters in
            parameters.append(id)
            parameters.append(time)
            Self.append(report, to: &parameters)
            parameters.append(poll.remoteAddress)
            parameters.append(poll.userAgent)
        }
    }

    // The rare ones (a change, a new host) go through the seam like every other statement.
    func historyEntryTime(host id: Int64, back: Int) throws -> Date? {
        try PortableCheckInStatements(GRDBTransaction(db: db)).historyEntryTime(host: id, back: back)
    }

    func hostCount() throws -> Int64 {
        try PortableCheckInStatements(GRDBTransaction(db: db)).hostCount()
    }

    func serial() throws -> Int64 {
        try serialStatement.run(binding: { _ in }, reading: { $0.integer(0) }) ?? 0
    }

    /// The values `insertHost` and `updateHost` share, in their order: the report, the poll's
    /// address and agent, and its time (`updateHost`'s `last_seen`, `insertHost`'s `first_seen`).
    private static func appendHostValues(_ report: HostReport, of poll: CheckIn, at time: String, to parameters: inout RawStatement.Parameters) {
        append(report, to: &parameters)
        parameters.append(poll.remoteAddress)
        parameters.append(poll.userAgent)
        parameters.append(time)
    }

    /// The values of `CheckInSQL.reportColumns`, in their order.
    private static func append(_ report: HostReport, to parameters: inout RawStatement.Parameters) {
        parameters.append(report.serverID)
        parameters.append(report.serverName)
        parameters.append(report.build)
        parameters.append(report.orgID)
        parameters.append(report.applied)
        parameters.append(report.blocked)
        parameters.append(report.mitigationsEnabled)
        parameters.append(report.dataCollectionEnabled)
    }

    /// A row of `CheckInSQL`'s host queries, read by position: `id`, the report's columns,
    /// `enrolled`, `inventory`, `site`.
    private static func host(_ row: RawStatement.Columns) -> KnownHost {
        KnownHost(id: row.integer(0), report: HostReport(
            serverID: row.text(1), serverName: row.text(2), build: row.text(3), orgID: row.text(4),
            applied: row.text(5) ?? "[]", blocked: row.text(6) ?? "[]",
            mitigationsEnabled: row.flag(7), dataCollectionEnabled: row.flag(8)
        ), enrolled: row.flag(9) ?? false, inventory: row.flag(10) ?? false, site: row.text(11))
    }
}

/// The check-in statements on any engine, through `SQLTransaction`: PostgreSQL's writer.
struct PortableCheckInStatements: CheckInStatements {
    let db: any SQLTransaction
    private let sql: CheckInSQL

    init(_ db: any SQLTransaction) {
        self.db = db
        sql = CheckInSQL.forEngine(db.engine)
    }

    func host(byCredential digest: String) throws -> KnownHost? {
        try db.row(sql.hostByCredential, [digest]).map(Self.host)
    }

    func host(byServerID serverID: String) throws -> KnownHost? {
        try db.row(sql.hostByServerID, [serverID]).map(Self.host)
    }

    func host(byNameKey nameKey: String) throws -> KnownHost? {
        try db.row(sql.hostByName, [nameKey]).map(Self.host)
    }

    func nameOnlyHost(nameKey: String) throws -> KnownHost? {
        try db.row(sql.nameOnlyHost, [nameKey]).map(Self.host)
    }

    func insertHost(_ report: HostReport, by poll: CheckIn, at time: String) throws -> Int64 {
        try db.insert(sql.insertHost, SQLArguments(Self.values(report) + [poll.remoteAddress, poll.userAgent, time, time]))
    }

    func updateHost(_ id: Int64, to report: HostReport, by poll: CheckIn, at time: String) throws {
        try db.execute(sql.updateHost, SQLArguments(Self.values(report) + [poll.remoteAddress, poll.userAgent, time, id]))
    }

    func updateSeen(host id: Int64, by poll: CheckIn, at time: String) throws {
        try db.execute(sql.updateSeen, [poll.remoteAddress, poll.userAgent, time, id])
    }

    func insertHistory(_ report: HostReport, by poll: CheckIn, host id: Int64, at time: String) throws {
        try db.execute(sql.insertHistory, SQLArguments([id, time] + Self.values(report) + [poll.remoteAddress, poll.userAgent]))
    }

    func historyEntryTime(host id: Int64, back: Int) throws -> Date? {
        try db.value(Date.self, sql.historyEntryTime, [id, back])
    }

    func hostCount() throws -> Int64 {
        try db.value(Int64.self, sql.hostCount) ?? 0
    }

    func serial() throws -> Int64 {
        try db.value(Int64.self, RuleStore.selectSerial) ?? 0
    }

    /// The values of `CheckInSQL.reportColumns`, in their order.
    private static func values(_ report: HostReport) -> [(any SQLValueConvertible)?] {
        [
            report.serverID, report.serverName, report.build, report.orgID, report.applied, report.blocked,
            report.mitigationsEnabled, report.dataCollectionEnabled,
        ]
    }

    private static func host(_ row: SQLRow) throws -> KnownHost {
        KnownHost(id: try row["id"], report: HostReport(
            serverID: try row["server_id"], serverName: try row["server_name"], build: try row["build"], orgID: try row["org_id"],
            applied: try row["applied"] ?? "[]", blocked: try row["blocked"] ?? "[]",
            mitigationsEnabled: try row["mitigations_enabled"], dataCollectionEnabled: try row["data_collection_enabled"]
        ), enrolled: try row["enrolled"] ?? false, inventory: try row["inventory"] ?? false, site: try row["site"])
    }

    /// Marks a host as one an inventory report adds and changes (`hosts.source`).
    func markInventory(_ id: Int64) throws {
        try db.execute(sql.markInventory, [id])
    }

    /// Marks a host as one `site`'s files add and change, as of the file exported at `exportedAt`.
    func markSite(_ id: Int64, site: String, exportedAt: Date, verified: Bool, source: HostSource) throws {
        try db.execute(sql.markSite, [site, DatabaseTimestamp(exportedAt), verified, source.rawValue, id])
    }

    /// When a host was last seen.
    func lastSeen(_ id: Int64) throws -> Date? {
        try db.value(Date.self, "SELECT last_seen FROM hosts WHERE id = ?", [id])
    }

    /// Sets a host's last sighting to `time`, earlier or later.
    func setLastSeen(_ id: Int64, to time: Date) throws {
        try db.execute("UPDATE hosts SET last_seen = ? WHERE id = ?", [DatabaseTimestamp(time), id])
    }

    /// Moves a host's first sighting back to `time`, when that is earlier.
    func setFirstSeen(_ id: Int64, to time: Date) throws {
        try db.execute(sql.setFirstSeen, [DatabaseTimestamp(time), id, DatabaseTimestamp(time)])
    }
}
