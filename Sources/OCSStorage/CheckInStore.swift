import Foundation
import GRDB

/// Check-ins and the hosts they describe: an append-only history plus each host's latest state.
public struct CheckInStore: Sendable {
    let database: OCSDatabase

    public init(database: OCSDatabase) {
        self.database = database
    }

    /// Records check-ins in one durable transaction: when this returns, all of them are on disk.
    public func record(_ checkIns: [CheckIn]) throws {
        guard !checkIns.isEmpty else { return }
        try database.pool.write { db in
            // Cached statements: parsed once per connection, not once per check-in.
            let insertCheckIn = try db.cachedStatement(sql: Self.insertCheckIn)
            let upsertHost = try db.cachedStatement(sql: Self.upsertHost)
            for checkIn in checkIns {
                let applied = Self.json(checkIn.applied)
                let blocked = Self.json(checkIn.blocked)
                let values: StatementArguments = [
                    checkIn.hostKey, checkIn.serverID, checkIn.serverName, checkIn.build, checkIn.orgID,
                    applied, blocked, checkIn.mitigationsEnabled, checkIn.dataCollectionEnabled,
                    checkIn.remoteAddress, checkIn.userAgent, DatabaseTimestamp(checkIn.time),
                ]
                try insertCheckIn.execute(arguments: values)
                try upsertHost.execute(arguments: values + [DatabaseTimestamp(checkIn.time)])
            }
        }
    }

    private static let insertCheckIn = """
        INSERT INTO check_ins (host_key, server_id, server_name, build, org_id, applied, blocked,
            mitigations_enabled, data_collection_enabled, remote_address, user_agent, checked_in_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    /// A host that omits a fact this time keeps the one it reported before.
    private static let upsertHost = """
        INSERT INTO hosts (host_key, server_id, server_name, build, org_id, applied, blocked,
            mitigations_enabled, data_collection_enabled, remote_address, user_agent,
            last_seen, first_seen, poll_count)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
        ON CONFLICT (host_key) DO UPDATE SET
            server_id = coalesce(excluded.server_id, server_id),
            server_name = coalesce(excluded.server_name, server_name),
            build = coalesce(excluded.build, build),
            org_id = coalesce(excluded.org_id, org_id),
            applied = excluded.applied,
            blocked = excluded.blocked,
            mitigations_enabled = coalesce(excluded.mitigations_enabled, mitigations_enabled),
            data_collection_enabled = coalesce(excluded.data_collection_enabled, data_collection_enabled),
            remote_address = excluded.remote_address,
            user_agent = excluded.user_agent,
            last_seen = max(last_seen, excluded.last_seen),
            poll_count = poll_count + 1
        """

    /// Every known host, most recently seen first.
    public func hosts() throws -> [HostState] {
        try database.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM hosts ORDER BY last_seen DESC, host_key").map(Self.host)
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
