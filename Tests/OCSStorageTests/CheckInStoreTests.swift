import Foundation
import GRDB
import OCSTestSupport
import Testing
@testable import OCSStorage

struct CheckInStoreTests {
    static func checkIn(id: String? = "6F1D2C3B-0A4E-4B5C-9D8E-7F6A5B4C3D2E", name: String? = "EX01", build: String? = "15.2.1118.7", applied: [String] = ["PING1"], at seconds: TimeInterval) -> CheckIn {
        CheckIn(
            serverID: id, serverName: name, build: build, orgID: nil, applied: applied, blocked: [],
            mitigationsEnabled: true, dataCollectionEnabled: nil, remoteAddress: "127.0.0.1", userAgent: "test",
            time: Date(timeIntervalSince1970: 1_800_000_000 + seconds)
        )
    }

    @Test func keepsLatestStatePerHostAndFullHistory() throws {
        let temporary = try TemporaryDatabase()
        let store = CheckInStore(database: temporary.database)
        try store.record([Self.checkIn(at: 0)])
        try store.record([Self.checkIn(build: "15.2.1118.15", applied: ["PING1", "M1"], at: 60), Self.checkIn(id: nil, name: "Ex02", at: 61)])
        let hosts = try store.hosts()
        #expect(hosts.map(\.hostKey) == ["name:ex02", "6f1d2c3b-0a4e-4b5c-9d8e-7f6a5b4c3d2e"])
        let ex01 = try #require(hosts.last)
        #expect(ex01.pollCount == 2)
        #expect(ex01.latest.build == "15.2.1118.15")
        #expect(ex01.latest.applied == ["PING1", "M1"])
        #expect(ex01.firstSeen == Date(timeIntervalSince1970: 1_800_000_000))
        #expect(ex01.lastSeen == Date(timeIntervalSince1970: 1_800_000_060))
        #expect(ex01.latest.mitigationsEnabled == true)
        #expect(ex01.latest.dataCollectionEnabled == nil)
        #expect(try store.history(hostKey: ex01.hostKey).map(\.build) == ["15.2.1118.15", "15.2.1118.7"])
        #expect(try store.checkInCount() == 3)
    }

    @Test func hostNamesFoldCase() throws {
        let temporary = try TemporaryDatabase()
        let store = CheckInStore(database: temporary.database)
        try store.record([Self.checkIn(id: nil, name: "EX01", at: 0), Self.checkIn(id: nil, name: "ex01", at: 1)])
        #expect(try store.hosts().map(\.pollCount) == [2])
    }

    @Test func checkInsSurviveReopening() throws {
        let temporary = try TemporaryDatabase()
        try CheckInStore(database: temporary.database).record([Self.checkIn(at: 0)])
        #expect(try CheckInStore(database: temporary.reopen()).hosts().count == 1)
    }

    @Test func historyIsAppendOnly() throws {
        let temporary = try TemporaryDatabase()
        try CheckInStore(database: temporary.database).record([Self.checkIn(at: 0)])
        #expect(throws: DatabaseError.self) { try temporary.database.pool.write { try $0.execute(sql: "UPDATE check_ins SET build = 'x'") } }
        #expect(throws: DatabaseError.self) { try temporary.database.pool.write { try $0.execute(sql: "DELETE FROM check_ins") } }
        #expect(try CheckInStore(database: temporary.database).checkInCount() == 1)
    }
}
