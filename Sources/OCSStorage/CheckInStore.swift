import Foundation
import GRDB

/// Check-ins and the hosts they describe: an append-only history plus each host's latest state.
public struct CheckInStore: Sendable {
    let database: OCSDatabase

    public init(database: OCSDatabase) {
        self.database = database
    }

    /// Records check-ins in one durable transaction: when this returns, all of them are on disk.
    /// Each host's latest state follows from the `check_ins_update_host` trigger.
    public func record(_ checkIns: [CheckIn]) throws {
        guard !checkIns.isEmpty else { return }
        try database.pool.write { db in
            // A cached statement: parsed once per connection, not once per check-in.
            let insert = try db.cachedStatement(sql: Self.insertCheckIn)
            for checkIn in checkIns {
                try insert.execute(arguments: [
                    checkIn.hostKey, checkIn.serverID, checkIn.serverName, checkIn.build, checkIn.orgID,
                    Self.json(checkIn.applied), Self.json(checkIn.blocked),
                    checkIn.mitigationsEnabled, checkIn.dataCollectionEnabled,
                    checkIn.remoteAddress, checkIn.userAgent, DatabaseTimestamp(checkIn.time),
                ])
            }
        }
    }

    private static let insertCheckIn = """
        INSERT INTO check_ins (host_key, server_id, server_name, build, org_id, applied, blocked,
            mitigations_enabled, data_collection_enabled, remote_address, user_agent, checked_in_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    /// Every known host, most recently seen first.
    public func hosts() throws -> [HostState] {
        try database.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM hosts ORDER BY last_seen DESC, host_key").map(Self.host)
        }
    }

    /// One host's latest state, by its key.
    public func host(key: String) throws -> HostState? {
        try database.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM hosts WHERE host_key = ?", arguments: [key]).map(Self.host)
        }
    }

    /// The newest check-ins of one host, newest first.
    public func history(hostKey: String, limit: Int = 50) throws -> [CheckIn] {
        try database.pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM check_ins WHERE host_key = ? ORDER BY id DESC LIMIT ?",
                arguments: [hostKey, limit]
            ).map { Self.checkIn($0, time: $0["checked_in_at"]) }
        }
    }

    public func checkInCount() throws -> Int {
        try database.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM check_ins") ?? 0 }
    }

    private static func host(_ row: Row) -> HostState {
        HostState(latest: checkIn(row, time: row["last_seen"]), firstSeen: row["first_seen"], pollCount: row["poll_count"])
    }

    /// A check-in from a `check_ins` or `hosts` row (they share these columns).
    private static func checkIn(_ row: Row, time: Date) -> CheckIn {
        var checkIn = CheckIn(
            serverID: row["server_id"], serverName: row["server_name"], build: row["build"], orgID: row["org_id"],
            applied: list(row["applied"]), blocked: list(row["blocked"]),
            mitigationsEnabled: row["mitigations_enabled"], dataCollectionEnabled: row["data_collection_enabled"],
            remoteAddress: row["remote_address"], userAgent: row["user_agent"], time: time
        )
        checkIn.hostKey = row["host_key"]
        return checkIn
    }

    /// A JSON array of mitigation ids. Ids are `[A-Za-z0-9._-]` (FeedQuery and RuleValidator
    /// enforce it), which JSON strings carry as they are: no encoder needed on the hot path.
    static func json(_ ids: [String]) -> String {
        "[" + ids.map { "\"\($0)\"" }.joined(separator: ",") + "]"
    }

    private static func list(_ json: String) -> [String] {
        (try? JSONDecoder().decode([String].self, from: Data(json.utf8))) ?? []
    }
}
