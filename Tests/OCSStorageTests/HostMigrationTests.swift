import Foundation
import GRDB
import OCSTestSupport
import Testing
@testable import OCSStorage

/// Migration 0007 on data an older version stored: the same server under its serverId and its
/// name becomes one host, and check-ins become a history of changes.
struct HostMigrationTests {
    @Test func mergesNameOnlyHostsIntoTheirServerAndKeepsOnlyChanges() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ocs-migration-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let queue = try DatabaseQueue(path: folder.appendingPathComponent("old.sqlite").path)
        let migrations = OCSDatabase.migrations
        let target = try #require(migrations.firstIndex { $0.name.hasPrefix("0007_") })
        try queue.write { db in
            for migration in migrations[..<target] { try db.execute(sql: migration.sql) }
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
                try db.execute(
                    sql: "INSERT INTO check_ins (host_key, server_id, server_name, build, applied, blocked, checked_in_at) VALUES (?, ?, ?, '15.1.2507.6', ?, '[]', ?)",
                    arguments: [key, serverID, name, applied, time]
                )
            }
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM hosts") == 3)
            try db.execute(sql: migrations[target].sql)
        }
        try queue.read { db in
            let hosts = try Row.fetchAll(db, sql: "SELECT id, server_id, server_name, poll_count, first_seen, last_seen, applied FROM hosts ORDER BY id")
            #expect(hosts.map { "\($0["server_name"] as String) \($0["poll_count"] as Int)" } == ["EX16-01 5", "LONELY 2"])
            #expect(hosts[0]["server_id"] as String? == "6f1d")
            #expect(hosts[0]["first_seen"] as String == "2026-01-01 00:00:00.000")
            #expect(hosts[0]["last_seen"] as String == "2026-01-01 04:00:00.000")
            #expect(hosts[0]["applied"] as String == #"["PING1","M1"]"#)
            let history = try Int.fetchAll(db, sql: "SELECT host_id FROM host_history ORDER BY id")
            // EX16-01: each switch between the two identities counts (a fact left out), repeats do not.
            #expect(history == [1, 1, 1, 1, 1, 2])
            #expect(try Bool.fetchOne(db, sql: "SELECT COUNT(*) = 0 FROM sqlite_master WHERE name IN ('check_ins', 'hosts_v1', 'check_ins_v1')") == true)
        }
    }
}
