import Foundation
import GRDB
import OCSDomain
import OCSTestSupport
import Testing
@testable import OCSStorage

struct CheckInStoreTests {
    static let guid = "6f1d2c3b-0a4e-4b5c-9d8e-7f6a5b4c3d2e"
    static let otherGUID = "00000000-0000-4000-8000-000000000002"

    static func checkIn(id: String? = guid, name: String? = "EX01", build: String? = "15.2.1118.7", applied: [String] = ["PING1"], enabled: Bool? = true, at seconds: TimeInterval) -> CheckIn {
        CheckIn(
            serverID: id, serverName: name, build: build, orgID: nil, applied: applied, blocked: [],
            mitigationsEnabled: enabled, dataCollectionEnabled: nil, remoteAddress: "127.0.0.1", userAgent: "test",
            time: Date(timeIntervalSince1970: 1_800_000_000 + seconds)
        )
    }

    static func all(_ store: CheckInStore) throws -> [HostState] {
        try store.hosts(page: PageRequest(limit: 1000)).items
    }

    @Test func keepsLatestStatePerHostAndOnlyChangesInHistory() throws {
        let temporary = try TestDatabase()
        let store = CheckInStore(database: temporary.database)
        try store.record([Self.checkIn(at: 0), Self.checkIn(at: 10)])
        try store.record([Self.checkIn(build: "15.2.1118.15", applied: ["PING1", "M1"], at: 60), Self.checkIn(id: nil, name: "Ex02", at: 61)])
        // Leaving facts out keeps them: not a change.
        try store.record([Self.checkIn(build: nil, applied: ["PING1", "M1"], enabled: nil, at: 120)])
        let hosts = try Self.all(store)
        #expect(hosts.map(\.displayName) == ["EX01", "Ex02"], "in the order they first polled")
        let ex01 = try #require(hosts.first)
        #expect(ex01.pollCount == 4)
        #expect(ex01.latest.build == "15.2.1118.15")
        #expect(ex01.latest.applied == ["PING1", "M1"])
        #expect(ex01.latest.mitigationsEnabled == true)
        #expect(ex01.latest.dataCollectionEnabled == nil)
        #expect(ex01.firstSeen == Date(timeIntervalSince1970: 1_800_000_000))
        #expect(ex01.lastSeen == Date(timeIntervalSince1970: 1_800_000_120))
        let history = try store.history(hostID: ex01.id).items
        #expect(history.map(\.state.build) == ["15.2.1118.15", "15.2.1118.7"], "newest first; repeats are not history")
        #expect(history.map(\.state.time) == [Date(timeIntervalSince1970: 1_800_000_060), Date(timeIntervalSince1970: 1_800_000_000)])
        #expect(try store.historyCount() == 3)
    }

    /// The writer binds and reads its values through SQLite's C API: every kind of value comes
    /// back as given (an empty string is not NULL, false is not absent), and the commit returns
    /// the serial its transaction saw.
    @Test func everyReportedValueRoundTripsAndTheCommitReturnsTheSerial() throws {
        let temporary = try TestDatabase()
        let store = CheckInStore(database: temporary.database)
        let rules = RuleStore(database: temporary.database)
        var poll = Self.checkIn(build: "15.1.2507.6", applied: [], enabled: false, at: 0.25)
        poll.orgID = Self.otherGUID
        poll.blocked = ["M1", "M2"]
        poll.dataCollectionEnabled = true
        poll.remoteAddress = nil
        poll.userAgent = ""
        let serial = try store.record([poll]).serial
        #expect(serial == (try rules.serial()))
        let host = try #require(try Self.all(store).first)
        var expected = poll
        expected.time = Date(timeIntervalSince1970: 1_800_000_000.25)
        #expect(host.latest == expected)
        #expect(try store.history(hostID: host.id).items.map(\.state) == [expected])
        // A name with characters outside ASCII (never a poll's) is stored and found as given.
        var unusual = Self.checkIn(id: nil, name: "h\u{e9}te-01", at: 2)
        unusual.userAgent = "agent \u{1F600}"
        try store.record([Self.checkIn(id: nil, name: "h\u{e9}te-01", at: 1), unusual])
        let stored = try #require(try Self.all(store).last)
        #expect(stored.latest.serverName == "h\u{e9}te-01")
        #expect(stored.latest.userAgent == "agent \u{1F600}")
        #expect(stored.pollCount == 2)
    }

    /// A repeat poll (the same report) is written by a narrower update: it still moves the
    /// address, agent, last poll and count, and adds no history; a later change still does.
    @Test func aRepeatMovesWhatEveryPollMovesAndAChangeAfterItIsHistory() throws {
        let temporary = try TestDatabase()
        let store = CheckInStore(database: temporary.database)
        try store.record([Self.checkIn(at: 0)])
        var repeated = Self.checkIn(at: 30)
        repeated.remoteAddress = "127.0.0.2"
        repeated.userAgent = "agent 2"
        try store.record([repeated, Self.checkIn(at: 20)])
        var host = try #require(try Self.all(store).first)
        #expect(host.pollCount == 3)
        #expect(host.lastSeen == Date(timeIntervalSince1970: 1_800_000_030), "an older poll in the batch does not move it back")
        #expect(host.latest.remoteAddress == "127.0.0.1" && host.latest.userAgent == "test", "the batch's last poll's")
        #expect(try store.historyCount() == 1)
        try store.record([Self.checkIn(build: "15.2.1118.15", at: 40)])
        host = try #require(try Self.all(store).first)
        #expect(host.latest.build == "15.2.1118.15")
        #expect(try store.history(hostID: host.id).items.map(\.state.build) == ["15.2.1118.15", "15.2.1118.7"])
    }

    /// The attack: a name-only poll (`?server=ex16-01&applied=M1,PING1`, no serverId) made the
    /// host that reported a serverId look protected.
    @Test func aNameOnlyPollNeverChangesAHostThatReportedAServerID() throws {
        let temporary = try TestDatabase()
        let store = CheckInStore(database: temporary.database)
        try store.record([Self.checkIn(name: "EX16-01", applied: ["PING1"], at: 0)])
        let forged = try store.record([Self.checkIn(id: nil, name: "ex16-01", build: "15.2.1118.15", applied: ["M1", "PING1"], at: 1)])
        #expect(forged.outcomes == [.refused(.nameOfIdentifiedHost)])
        let hosts = try Self.all(store)
        #expect(hosts.count == 1, "no name-only host is added beside it either")
        #expect(hosts.first?.pollCount == 1)
        #expect(hosts.first?.latest.applied == ["PING1"], "coverage is what the server itself reported")
        #expect(hosts.first?.latest.build == "15.2.1118.7")
        #expect(try store.historyCount() == 1)
        // A name no host with a serverId reported is a name-only host, which name-only polls update.
        let other = try store.record([Self.checkIn(id: nil, name: "EX16-02", at: 2), Self.checkIn(id: nil, name: "ex16-02", build: "15.2.1118.15", at: 3)])
        #expect(other.outcomes == [.recorded, .recorded])
        let nameOnly = try #require(try store.host(HostReference("EX16-02")!))
        #expect(nameOnly.pollCount == 2 && nameOnly.latest.build == "15.2.1118.15")
    }

    /// The attack: `?server=EX16-A&serverId=<B's serverId>` merged the name-only host EX16-A into
    /// B (two hosts became one, one exposed host fewer).
    @Test func noPollMergesTwoHosts() throws {
        let temporary = try TestDatabase()
        let store = CheckInStore(database: temporary.database)
        try store.record([Self.checkIn(id: nil, name: "EX16-A", applied: [], at: 0), Self.checkIn(id: Self.otherGUID, name: "EX16-B", at: 1)])
        let before = try Self.all(store)
        #expect(before.count == 2)
        let outcome = try store.record([Self.checkIn(id: Self.otherGUID, name: "EX16-A", at: 2)])
        #expect(outcome.outcomes == [.recorded], "B's own poll, under a new name")
        let after = try Self.all(store)
        #expect(after.count == 2, "EX16-A is still its own host")
        #expect(after.first == before.first, "and unchanged")
        #expect(try store.history(hostID: before[0].id).items.count == 1)
        // A name-only host that starts reporting a serverId becomes a second host; the first is
        // forgotten once it has not polled for the forget-after time.
        try store.record([Self.checkIn(name: "EX16-A", at: 3)])
        #expect(try Self.all(store).count == 3)
    }

    @Test func hostsAreFoundByIDServerIDOrName() throws {
        let temporary = try TestDatabase()
        let store = CheckInStore(database: temporary.database)
        try store.record([Self.checkIn(name: "EX19-01", at: 0), Self.checkIn(id: nil, name: "7", at: 1)])
        let ex19 = try #require(try Self.all(store).first)
        #expect(try store.host(HostReference(String(ex19.id))!)?.id == ex19.id)
        #expect(try store.host(HostReference("{6F1D2C3B-0A4E-4B5C-9D8E-7F6A5B4C3D2E}")!)?.id == ex19.id)
        #expect(try store.host(HostReference("ex19-01")!)?.id == ex19.id)
        #expect(try store.host(HostReference("7")!)?.displayName == "7", "no host has id 7: found by name")
        #expect(try store.host(HostReference("EX99")!) == nil)
        #expect(HostReference("a b") == nil)
        #expect(HostReference("") == nil)
    }

    @Test func pagesWalkEveryHostOnceAndFilterStaleOnes() throws {
        let temporary = try TestDatabase()
        let store = CheckInStore(database: temporary.database)
        try store.record((0..<7).map { Self.checkIn(id: nil, name: "host\($0)", at: TimeInterval($0) * 100) })
        var seen: [String] = []
        var pages = 0
        try PageRequest.walk(limit: 3, read: { try store.hosts(page: $0) }) { page in
            pages += 1
            seen += page.items.map(\.displayName)
            // A host polling between pages moves in time, not in the walk.
            try store.record([Self.checkIn(id: nil, name: "host0", at: 10_000)])
        }
        #expect(seen == (0..<7).map { "host\($0)" })
        #expect(pages == 3)
        let cutoff = Date(timeIntervalSince1970: 1_800_000_350)
        #expect(try store.hosts(lastSeenBefore: cutoff).items.map(\.displayName) == ["host1", "host2", "host3"])
        #expect(try store.hosts(lastSeenSince: cutoff).items.map(\.displayName) == ["host0", "host4", "host5", "host6"])
    }

    /// The dashboard's host list: stale or not, product and CU as the catalog decides them for
    /// each reported build, and text found in the name or serverId whatever its case.
    @Test func hostsAreFilteredByStalenessProductCUAndText() throws {
        let temporary = try TestDatabase()
        let store = CheckInStore(database: temporary.database)
        try store.record([
            Self.checkIn(id: Self.guid(1), name: "EX19-A", build: "15.2.1118.7", at: 0),
            Self.checkIn(id: Self.guid(2), name: "ex19-b", build: "15.2.1118.15", at: 500),
            Self.checkIn(id: Self.guid(3), name: "EX16", build: "15.1.2507.6", at: 500),
            Self.checkIn(id: nil, name: "nobuild", build: nil, at: 500),
        ])
        let since = Date(timeIntervalSince1970: 1_800_000_100)
        func names(_ filter: HostFilter, page: PageRequest = PageRequest()) throws -> [String] {
            try store.hosts(filter, staleSince: since, page: page).items.map(\.displayName)
        }
        #expect(try names(HostFilter()) == ["EX19-A", "ex19-b", "EX16", "nobuild"])
        #expect(try names(HostFilter(stale: true)) == ["EX19-A"])
        #expect(try names(HostFilter(stale: false)) == ["ex19-b", "EX16", "nobuild"])
        #expect(try names(HostFilter(product: .exchange2019)) == ["EX19-A", "ex19-b"])
        #expect(try names(HostFilter(product: .exchange2016, cumulativeUpdate: "cu23")) == ["EX16"])
        #expect(try names(HostFilter(cumulativeUpdate: "CU12")) == ["EX19-A", "ex19-b"])
        #expect(try names(HostFilter(product: .exchange2016, cumulativeUpdate: "CU12")).isEmpty)
        #expect(try names(HostFilter(stale: false, product: .exchange2019, name: "EX19")) == ["ex19-b"])
        #expect(try names(HostFilter(name: "Ex19-")) == ["EX19-A", "ex19-b"])
        #expect(try names(HostFilter(name: "-000000000003")) == ["EX16"], "found by serverId")
        #expect(try names(HostFilter(name: "EX99")).isEmpty)
        let first = try store.hosts(HostFilter(name: "ex19"), staleSince: since, page: PageRequest(limit: 1))
        #expect(first.items.map(\.displayName) == ["EX19-A"])
        #expect(try names(HostFilter(name: "ex19"), page: PageRequest(limit: 1, cursor: first.next)) == ["ex19-b"])
    }

    @Test func forgettingRemovesTheHostAndItsHistoryAndIsAudited() throws {
        let temporary = try TestDatabase()
        let store = CheckInStore(database: temporary.database)
        try store.record([Self.checkIn(at: 0), Self.checkIn(build: "15.2.1118.15", at: 1), Self.checkIn(id: nil, name: "EX02", at: 2)])
        let forgotten = try store.forget(HostReference("ex01")!, context: ChangeContext(actor: "alice"))
        #expect(forgotten.displayName == "EX01")
        #expect(try Self.all(store).map(\.displayName) == ["EX02"])
        #expect(try store.historyCount() == 1)
        #expect(throws: HostChangeError.notFound("ex01")) { try store.forget(HostReference("ex01")!, context: ChangeContext(actor: "alice")) }
        let audit = try AuditLog(database: temporary.database).entries().items.map { "\($0.actor) \($0.action) \($0.outcome)" }
        #expect(audit.count == 2)
        #expect(audit.first?.hasPrefix("alice host.forget ok: host \(forgotten.id) EX01 serverId \(Self.guid), 2 history entries") == true)
        #expect(audit.last?.hasPrefix("alice host.forget refused: no host 'ex01'") == true)
        // Polling again makes a new host.
        try store.record([Self.checkIn(at: 3)])
        #expect(try store.host(HostReference("EX01")!)?.id != forgotten.id)
    }

    @Test func pruningKeepsRecentHistoryAndEachHostsNewestEntry() throws {
        let temporary = try TestDatabase()
        // Twenty changes in 2,000 s: above the standard hourly bound, which another test covers.
        let store = CheckInStore(database: temporary.database, limits: CheckInLimits(maximumHosts: 10, newHostsPerAddressPerMinute: 10, historyEntriesPerHostPerHour: 100))
        // EX01 changes build every 100 s; EX02 reported once, long ago.
        try store.record([Self.checkIn(id: nil, name: "EX02", at: 0)])
        try store.record((0..<20).map { Self.checkIn(build: "15.2.1118.\($0 + 1)", at: TimeInterval($0) * 100) })
        #expect(try store.historyCount() == 21)
        let deleted = try store.pruneHistory(before: Date(timeIntervalSince1970: 1_800_000_000 + 1_450), batchSize: 4)
        #expect(deleted == 15, "EX01's changes before 1450 s; EX02's only entry stays")
        let ex01 = try #require(try store.host(HostReference("EX01")!))
        #expect(try store.history(hostID: ex01.id).items.last?.state.build == "15.2.1118.16")
        let ex02 = try #require(try store.host(HostReference("EX02")!))
        #expect(try store.history(hostID: ex02.id).items.count == 1)
        #expect(try store.pruneHistory(before: Date(timeIntervalSince1970: 1_800_000_000 + 1_450)) == 0)
    }

    @Test func historyEntriesAreImmutableAndTheAuditTrailStaysAppendOnly() throws {
        let temporary = try TestDatabase()
        try CheckInStore(database: temporary.database).record([Self.checkIn(at: 0)])
        try AuditLog(database: temporary.database).append(AuditEntry(actor: "a", action: "x", ruleID: nil, revision: nil, remoteAddress: nil, outcome: "ok"))
        #expect(throws: (any Error).self) { try temporary.database.write { try $0.execute("UPDATE host_history SET build = 'x'") } }
        #expect(throws: (any Error).self) { try temporary.database.write { try $0.execute("DELETE FROM audit_log") } }
        #expect(throws: (any Error).self) { try temporary.database.write { try $0.execute("UPDATE audit_log SET actor = 'x'") } }
        #expect(try CheckInStore(database: temporary.reopen()).hostCount() == 1)
    }

    @Test func cursorsAreCheckedAndBelongToOneList() throws {
        let cursor = PageCursor(kind: .hosts, key: 42)
        #expect(try PageCursor(token: cursor.token, kind: .hosts) == cursor)
        #expect(throws: PageRequestError.badCursor(cursor.token)) { try PageCursor(token: cursor.token, kind: .audit) }
        // A list keyed by text takes text keys only, as long as a build's at most; others, numbers only.
        let text = PageCursor(kind: .hostBuilds, text: "4294967295.4294967295.4294967295.4294967295")
        #expect(try PageCursor(token: text.token, kind: .hostBuilds) == text)
        for bad in [PageCursor(kind: .hostBuilds, key: 1).token, PageCursor(kind: .hostBuilds, text: String(repeating: "9", count: 44)).token] {
            #expect(throws: PageRequestError.badCursor(bad)) { try PageCursor(token: bad, kind: .hostBuilds) }
        }
        let textForHosts = PageCursor(kind: .hosts, text: "15.2.1118.7").token
        #expect(throws: PageRequestError.badCursor(textForHosts)) { try PageCursor(token: textForHosts, kind: .hosts) }
        for bad in ["", "x", "!!!!", "aG9zdHM6LTE", String(repeating: "A", count: 100)] {
            #expect(throws: PageRequestError.self, "\(bad)") { try PageCursor(token: bad, kind: .hosts) }
        }
        #expect(try PageRequest.parse(limit: nil, cursor: nil, kind: .hosts) == PageRequest(limit: 100))
        #expect(try PageRequest.parse(limit: "1000", cursor: nil, kind: .hosts).limit == 1000)
        for bad in ["0", "1001", "-1", "ten", ""] {
            #expect(throws: PageRequestError.badLimit(bad)) { try PageRequest.parse(limit: bad, cursor: nil, kind: .hosts) }
        }
    }

    // MARK: Limits

    static func limits(hosts: Int = 100, perAddress: Int = 100, history: Int = 100) -> CheckInLimits {
        CheckInLimits(maximumHosts: hosts, newHostsPerAddressPerMinute: perAddress, historyEntriesPerHostPerHour: history)
    }

    static func guid(_ number: Int) -> String {
        String(format: "00000000-0000-4000-8000-%012d", number)
    }

    @Test func newHostsStopAtTheMostHostsWhileKnownHostsStillCheckIn() throws {
        let temporary = try TestDatabase()
        let store = CheckInStore(database: temporary.database, limits: Self.limits(hosts: 3))
        let first = try store.record((1...2).map { Self.checkIn(id: Self.guid($0), name: "EX\($0)", at: 0) })
        #expect(first.outcomes == [.recorded, .recorded])
        let flood = try store.record((3...6).map { Self.checkIn(id: Self.guid($0), name: "EX\($0)", at: 1) } + [Self.checkIn(id: Self.guid(1), name: "EX1", build: "15.2.1118.15", at: 2)])
        #expect(flood.outcomes == [.recorded, .refused(.maximumHosts), .refused(.maximumHosts), .refused(.maximumHosts), .recorded])
        #expect(try store.hostCount() == 3)
        #expect(try store.host(HostReference(Self.guid(1))!)?.latest.build == "15.2.1118.15")
        // In a later transaction too, and for name-only hosts.
        #expect(try store.record([Self.checkIn(id: nil, name: "EX9", at: 3)]).outcomes == [.refused(.maximumHosts)])
        // Forgetting one makes room.
        try store.forget(HostReference(Self.guid(2))!, context: ChangeContext(actor: "alice"))
        #expect(try store.record([Self.checkIn(id: nil, name: "EX9", at: 4)]).outcomes == [.recorded])
    }

    @Test func newHostsPerAddressAreLimitedPerMinute() throws {
        let temporary = try TestDatabase()
        let store = CheckInStore(database: temporary.database, limits: Self.limits(perAddress: 2))
        func poll(_ number: Int, from address: String, at seconds: TimeInterval) -> CheckIn {
            var poll = Self.checkIn(id: Self.guid(number), name: "EX\(number)", at: seconds)
            poll.remoteAddress = address
            return poll
        }
        let burst = try store.record([poll(1, from: "192.0.2.7", at: 0), poll(2, from: "192.0.2.7", at: 1), poll(3, from: "192.0.2.7", at: 2), poll(4, from: "192.0.2.8", at: 2)])
        #expect(burst.outcomes == [.recorded, .recorded, .refused(.newHostRate), .recorded], "another address has its own allowance")
        // The limited address's known hosts still check in, moving their address does not reset it.
        #expect(try store.record([poll(1, from: "192.0.2.7", at: 30), poll(5, from: "192.0.2.7", at: 30)]).outcomes == [.recorded, .refused(.newHostRate)])
        // A minute after its first new hosts the address may add again.
        #expect(try store.record([poll(3, from: "192.0.2.7", at: 61)]).outcomes == [.recorded])
        #expect(try store.hostCount() == 4)
    }

    @Test func historyIsBoundedPerHostPerHourWhileTheHostStaysCurrent() throws {
        let temporary = try TestDatabase()
        let store = CheckInStore(database: temporary.database, limits: Self.limits(history: 3))
        // A host alternating what it reports every 10 s: its first entry and two changes are kept.
        let alternating = (0..<6).map { Self.checkIn(applied: $0 % 2 == 0 ? ["PING1"] : ["PING1", "M1"], at: TimeInterval($0) * 10) }
        let outcomes = try store.record(alternating).outcomes
        #expect(outcomes == [.recorded, .recorded, .recorded, .recordedWithoutHistory, .recordedWithoutHistory, .recordedWithoutHistory])
        let host = try #require(try Self.all(store).first)
        #expect(host.latest.applied == ["PING1", "M1"], "what it reports now is still true")
        #expect(host.pollCount == 6)
        #expect(try store.historyCount() == 3)
        // An hour after the third newest entry, changes are kept again.
        #expect(try store.record([Self.checkIn(applied: ["PING1"], at: 3620)]).outcomes == [.recorded])
        #expect(try store.historyCount() == 4)
    }

    @Test func hostsNotSeenSinceTheCutoffAreForgottenWithTheirHistory() throws {
        let temporary = try TestDatabase()
        let store = CheckInStore(database: temporary.database)
        try store.record((1...5).map { Self.checkIn(id: Self.guid($0), name: "EX\($0)", at: TimeInterval($0) * 100) })
        try store.record([Self.checkIn(id: Self.guid(1), name: "EX1", build: "15.2.1118.15", at: 1000)])
        let forgotten = try store.forgetHosts(lastSeenBefore: Date(timeIntervalSince1970: 1_800_000_000 + 350), batchSize: 1)
        #expect(forgotten == 2, "EX2 and EX3; EX1 polled again")
        #expect(try Self.all(store).map(\.displayName) == ["EX1", "EX4", "EX5"])
        #expect(try store.hostCount() == 3, "the count the triggers keep follows deletions")
        #expect(try store.historyCount() == 4)
        #expect(try store.forgetHosts(lastSeenBefore: Date(timeIntervalSince1970: 1_800_000_000 + 350)) == 0)
    }
}

struct RawStatementTests {
    /// A value left out is refused before the statement runs, not bound as NULL.
    @Test func aMissingOrSurplusValueIsRefusedAndTheStatementStaysUsable() throws {
        let temporary = try TemporaryDatabase()
        try temporary.database.writer.write { db in
            let statement = try RawStatement(db, sql: "SELECT ? || ?")
            #expect(throws: DatabaseError.self) { try statement.run(binding: { $0.append("a") }, reading: { $0.text(0) }) }
            #expect(throws: DatabaseError.self) {
                try statement.run(binding: { $0.append("a"); $0.append("b"); $0.append("c") }, reading: { $0.text(0) })
            }
            #expect(try statement.run(binding: { $0.append("a"); $0.append("") }, reading: { $0.text(0) }) == "a")
            #expect(try statement.run(binding: { $0.append("a"); $0.append(nil as String?) }, reading: { $0.text(0) }) == .some(nil))
        }
    }
}
