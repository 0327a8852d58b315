import Foundation
import OCSDomain
import OCSStorage
import OCSTestSupport
import Synchronization
import Testing
@testable import OCSPostgres

struct PostgresDatabaseTests {
    /// The stores write `?`; PostgreSQL numbers its parameters. A `?` inside quotes or a comment
    /// is not a parameter.
    @Test func numbersParametersOutsideQuotesAndComments() {
        #expect(PostgresTransaction.numberingParameters("SELECT 1") == "SELECT 1")
        #expect(PostgresTransaction.numberingParameters("SELECT ?, ? FROM t WHERE a = ?") == "SELECT $1, $2 FROM t WHERE a = $3")
        #expect(
            PostgresTransaction.numberingParameters("SELECT '?', \"a?\", ? -- why?\n, ? - ?")
                == "SELECT '?', \"a?\", $1 -- why?\n, $2 - $3"
        )
        #expect(PostgresTransaction.numberingParameters("SELECT 'it''s ?', ?") == "SELECT 'it''s ?', $1")
    }

    /// Every kind of value goes in and comes back as SQLite would hand it over: integers
    /// (booleans as 0 or 1, whole sums as integers), reals, text, blobs, NULL.
    @Test func valuesRoundTripAsOnSQLite() throws {
        let database = try TestDatabase.freshPostgres()
        let row = try database.write { db in
            try db.execute("CREATE TEMP TABLE kinds (i BIGINT, r DOUBLE PRECISION, s TEXT, b BYTEA, n TEXT) ON COMMIT DROP")
            #expect(try db.execute("INSERT INTO kinds VALUES (?, ?, ?, ?, ?), (2, 0.5, '', ?, NULL)", [Int64.max, 1.25, "é?", Data([0, 255]), nil, Data()]) == 2)
            return try #require(try db.row("SELECT i, r, s, b, n, i > 0 AS flag, (SELECT sum(i) FROM kinds WHERE i = 2) AS total FROM kinds ORDER BY i DESC LIMIT 1"))
        }
        #expect(try row.value("i") == .integer(Int64.max))
        #expect(try row.value("r") == .real(1.25))
        #expect(try row.value("s") == .text("é?"))
        #expect(try row.value("b") == .blob([0, 255]))
        #expect(try row.value("n") == .null)
        #expect(try row.value("flag") == .integer(1))
        #expect(try row.value("total") == .integer(2))
    }

    /// A write that throws leaves nothing behind, and a savepoint undoes only its own work.
    @Test func aFailedWriteChangesNothingAndSavepointsNest() throws {
        let database = try TestDatabase.freshPostgres()
        struct Refused: Error {}
        #expect(throws: Refused.self) {
            try database.write { db in
                try db.execute("INSERT INTO audit_log (time, actor, action, outcome) VALUES ('2026-01-01T00:00:00.000Z', 'a', 'x', 'ok')")
                throw Refused()
            }
        }
        #expect(try database.read { try $0.value(Int.self, "SELECT COUNT(*) FROM audit_log") } == 0)
        try database.write { db in
            try db.execute("INSERT INTO audit_log (time, actor, action, outcome) VALUES ('2026-01-01T00:00:00.000Z', 'a', 'kept', 'ok')")
            try db.inSavepoint {
                try db.execute("INSERT INTO audit_log (time, actor, action, outcome) VALUES ('2026-01-01T00:00:00.000Z', 'a', 'undone', 'ok')")
                return .rollback
            }
        }
        #expect(try database.read { try $0.values(String.self, "SELECT action FROM audit_log") } == ["kept"])
    }

    /// A statement PostgreSQL refuses is named in its words, and the connection goes on serving.
    @Test func aRefusedStatementSaysWhy() throws {
        let database = try TestDatabase.freshPostgres()
        do {
            _ = try database.read { try $0.rows("SELECT no_such_column FROM hosts") }
            Issue.record("the statement should fail")
        } catch {
            #expect("\(error)".contains("no_such_column"))
            #expect("\(error)".contains("42703"))
        }
        #expect(try database.read { try $0.value(Int.self, "SELECT 1") } == 1)
    }

    /// No server: opening fails within the lease deadline, saying so, instead of hanging.
    @Test func noServerIsNamedNotWaitedFor() throws {
        let port = try Self.closedPort()
        let location = PostgresLocation(user: "ocs", server: .tcp(host: "127.0.0.1", port: port), database: "ocs", sslMode: .disable)
        do {
            _ = try PostgresDatabase(location, password: nil, logger: PostgresTestDatabase.quietLogger)
            Issue.record("opening should fail")
        } catch {
            #expect(error.description.contains("PostgreSQL gave no connection within 5 s"), "\(error)")
        }
    }

    private static func closedPort() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Replicas hear of a publish as it commits: each commit that moves the serial is announced to a
/// listener (migration 0021's NOTIFY), a rolled-back one is not, and a listener announces once as
/// it starts, since a change may have passed while it was not listening.
struct PostgresSerialAnnouncementTests {
    @Test func aCommitThatMovesTheSerialIsAnnounced() throws {
        let database = try #require(try TestDatabase.freshPostgres() as? any SerialAnnouncing)
        let heard = Announcements()
        let listening = database.listenForSerialChanges { heard.note() }
        defer { listening.cancel() }
        #expect(heard.wait(forAtLeast: 1), "a listener announces once it listens")

        let bump = "UPDATE feed_state SET serial = serial + 1 WHERE id = 1"
        struct Refused: Error {}
        _ = try? database.write { db in
            try db.execute(bump)
            throw Refused()
        }
        try database.write { db in try db.execute(bump) }
        #expect(heard.wait(forAtLeast: 2), "the commit is announced")
        // The rolled-back bump was not: one announcement per commit, nothing more.
        Thread.sleep(forTimeInterval: 0.3)
        #expect(heard.count == 2)
    }

    /// Counts announcements, and lets the test wait for one (bounded).
    final class Announcements: Sendable {
        private let heard = Mutex(0)

        var count: Int { heard.withLock { $0 } }

        func note() { heard.withLock { $0 += 1 } }

        func wait(forAtLeast count: Int) -> Bool {
            for _ in 0..<1000 where self.count < count {
                Thread.sleep(forTimeInterval: 0.01)
            }
            return self.count >= count
        }
    }
}

/// A check-in's statements run prepared (parsed and planned once per connection), with the
/// results the unprepared path gives: the whole conformance run records check-ins this way too.
struct PostgresPreparedCheckInTests {
    @Test func checkInStatementsArePreparedOnceAndGiveTheSameHosts() throws {
        let database = try #require(try TestDatabase.freshPostgres() as? PostgresDatabase)
        let store = CheckInStore(database: database)
        #expect(database.prepared.count == 0)
        func poll(_ host: Int, at seconds: TimeInterval) -> CheckIn {
            CheckIn(
                serverID: String(format: "00000000-0000-4000-8000-%012d", host), serverName: "EX\(host)", build: "15.2.1118.7", orgID: nil,
                applied: ["PING1"], blocked: [], mitigationsEnabled: true, dataCollectionEnabled: nil, remoteAddress: "127.0.0.1",
                userAgent: "test", time: Date(timeIntervalSince1970: 1_800_000_000 + seconds)
            )
        }
        try store.record([poll(1, at: 0), poll(2, at: 0)])
        let afterFirst = database.prepared.count
        #expect(afterFirst > 0, "the check-in ran prepared statements")
        for round in 1...5 {
            try store.record([poll(1, at: Double(round)), poll(2, at: Double(round)), poll(3, at: Double(round))])
        }
        let hosts = try store.hosts(page: PageRequest(limit: 10)).items
        #expect(hosts.map(\.pollCount) == [6, 6, 5])
        #expect(hosts.map(\.latest.serverName) == ["EX1", "EX2", "EX3"])
    }
}
