import OCSTestSupport
import PostgresNIO
import Testing
@testable import OCSPostgres

/// As HostMigrationTests on SQLite: migration 0007 on data an older schema stored. A PostgreSQL
/// database only ever meets 0007 empty, but its data steps must still mean what SQLite's do.
struct PostgresHostMigrationTests {
    @Test func mergesNameOnlyHostsIntoTheirServerAndKeepsOnlyChanges() async throws {
        try await PostgresTestDatabase.with { _, client in
            let migrations = PostgresMigrator.embedded
            let target = try #require(migrations.firstIndex { $0.id.hasPrefix("0007_") })
            try await PostgresMigrator(migrations: Array(migrations[..<target]), logger: PostgresTestDatabase.quietLogger).migrate(client)
            // What the 0004 trigger made of these polls: two hosts for EX16-01, one for LONELY.
            let polls: [(String, String?, String, String, String)] = [
                ("6f1d", "6f1d", "EX16-01", #"["PING1"]"#, "2026-01-01 00:00:00.000"),
                ("name:ex16-01", nil, "ex16-01", #"["PING1"]"#, "2026-01-01 01:00:00.000"),
                ("6f1d", "6f1d", "EX16-01", #"["PING1"]"#, "2026-01-01 02:00:00.000"),
                ("6f1d", "6f1d", "EX16-01", #"["PING1","M1"]"#, "2026-01-01 03:00:00.000"),
                ("name:ex16-01", nil, "ex16-01", #"["PING1","M1"]"#, "2026-01-01 04:00:00.000"),
                ("name:lonely", nil, "LONELY", "[]", "2026-01-01 05:00:00.000"),
                ("name:lonely", nil, "LONELY", "[]", "2026-01-01 06:00:00.000"),
            ]
            for (key, serverID, name, applied, time) in polls {
                try await client.query("INSERT INTO check_ins (host_key, server_id, server_name, build, applied, blocked, checked_in_at) VALUES (\(key), \(serverID), \(name), '15.1.2507.6', \(applied), '[]', \(time))")
            }
            let before = try await client.query("SELECT count(*) FROM hosts").collect().first!.decode(Int.self)
            #expect(before == 3)

            try await PostgresMigrator(logger: PostgresTestDatabase.quietLogger).migrate(client)
            var hosts: [(id: Int, serverID: String?, name: String, polls: Int, firstSeen: String, lastSeen: String, applied: String)] = []
            let rows = try await client.query("SELECT id, server_id, server_name, poll_count, first_seen, last_seen, applied FROM hosts ORDER BY id")
            for try await host in rows.decode((Int, String?, String, Int, String, String, String).self) {
                hosts.append(host)
            }
            #expect(hosts.map { "\($0.name) \($0.polls)" } == ["EX16-01 5", "LONELY 2"])
            #expect(hosts.first?.serverID == "6f1d")
            #expect(hosts.first?.firstSeen == "2026-01-01 00:00:00.000")
            #expect(hosts.first?.lastSeen == "2026-01-01 04:00:00.000")
            #expect(hosts.first?.applied == #"["PING1","M1"]"#)
            var history: [Int] = []
            for try await hostID in try await client.query("SELECT host_id FROM host_history ORDER BY id").decode(Int.self) {
                history.append(hostID)
            }
            // EX16-01: each switch between the two identities counts (a fact left out), repeats do not.
            #expect(history == [1, 1, 1, 1, 1, 2])
            let leftovers = try await client.query("SELECT count(*) FROM pg_class WHERE relname IN ('check_ins', 'hosts_v1', 'check_ins_v1')").collect().first!.decode(Int.self)
            #expect(leftovers == 0)
            let hostCount = try await client.query("SELECT hosts FROM host_count").collect().first!.decode(Int.self)
            #expect(hostCount == 2, "0016 counts the hosts 0007 left")
        }
    }
}
