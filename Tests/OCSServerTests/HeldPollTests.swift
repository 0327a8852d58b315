import Foundation
import NIOCore
import NIOHTTP1
import OCSDomain
import OCSOperations
@testable import OCSServer
import OCSStorage
import OCSTestSupport
import Testing

/// Polls that wait for a change (`Prefer: wait` with `If-None-Match`), on a real socket with curl
/// as the client. Every held poll here asks to wait (50 s) longer than curl's `--max-time` (40 s):
/// a poll that was not answered by a change, the cap or the stop would fail the test by timing out.
@Suite("Held polls")
struct HeldPollTests {
    static let build = "15.2.1118.7"

    /// A server on a fresh database with rule M1 published to everyone.
    final class Fixture {
        let database: TemporaryDatabase
        let operations: Operations

        init() throws {
            database = try TemporaryDatabase()
            operations = Operations(database: database.database)
            try Self.publish("M1", to: .everyone, operations)
        }

        static func publish(_ id: String, to release: Release, _ operations: Operations) throws {
            let rule = Mitigation(id: id, description: "test \(id)", state: .draft, actions: [.disableService("MSExchangeTest\(id)", description: nil)])
            _ = try operations.lifecycle.save(rule, expectedRevision: nil, context: .localUser)
            _ = try operations.lifecycle.publish(id, to: release, .init(context: .localUser, role: .admin))
        }
    }

    static func url(_ address: SocketAddress, host: String? = nil) -> String {
        var url = "http://127.0.0.1:\(address.port ?? 0)/getexchangemitigations?build=\(build)"
        if let host { url += "&server=\(host)&serverId=\(guid(host))" }
        return url
    }

    /// A GUID of the host's number: EX01 ends in 01.
    static func guid(_ host: String) -> String {
        "11111111-2222-4333-8444-5555555555" + host.suffix(2)
    }

    /// curl off the cooperative pool (it blocks a thread until the answer).
    static func poll(_ url: String, etag: String, wait: Int, maxTime: Int = 40) async throws -> CurlResponse {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result {
                    try Curl.request(url, ["--max-time", String(maxTime), "-H", "If-None-Match: \(etag)", "-H", "Prefer: wait=\(wait)"])
                })
            }
        }
    }

    /// Waits until `count` polls are held, for at most 30 seconds (the whole suite runs at once on
    /// two cores); fails the test otherwise.
    static func awaitHeld(_ server: InProcessServer, _ count: Int) async throws {
        for _ in 0..<600 where server.server.heldPolls.count != count {
            try await Task.sleep(for: .milliseconds(50))
        }
        try #require(server.server.heldPolls.count == count)
    }

    /// Every feed carries the rule set's serial, so a change wakes every held poll, each with the
    /// feed its host receives: the group's host with the new rule, the other without it.
    @Test func aChangeWakesEveryHeldPollWithItsOwnFeed() async throws {
        let fixture = try Fixture()
        try fixture.operations.groups.create(name: "ring1", selector: .names(["EX01"]), context: .localUser)
        let configuration = HTTPServer.Configuration(host: "127.0.0.1", port: 0, maxHeldPolls: 8, maxWaitSeconds: 60)
        let operations = fixture.operations
        let (inGroup, outside, serial) = try await InProcessServer.serving(database: fixture.database.database, configuration: configuration) { server, address in
            let first = try Curl.request(Self.url(address, host: "EX01"))
            let etag = try #require(first.header("ETag"))
            let ex01 = Task { try await Self.poll(Self.url(address, host: "EX01"), etag: etag, wait: 50) }
            let ex02 = Task { try await Self.poll(Self.url(address, host: "EX02"), etag: etag, wait: 50) }
            try await Self.awaitHeld(server, 2)
            // Each check-in was recorded when its poll arrived, before any change.
            #expect(try operations.checkIns.host(HostReference(Self.guid("EX02"))!) != nil)
            try Fixture.publish("M2", to: .groups(["ring1"]), operations)
            return (try await ex01.value, try await ex02.value, try operations.rules.serial())
        }
        for woken in [inGroup, outside] {
            #expect(woken.status == 200)
            #expect(woken.header("Preference-Applied") == "wait=50")
            #expect(woken.text.contains("serial=\"\(serial)\""))
        }
        #expect(try XMLLint.configIDs(inGroup.body) == ["M1", "M2"])
        #expect(try XMLLint.configIDs(outside.body) == ["M1"])
    }

    /// The idle and header deadlines (1 s here) do not cut a poll held for 2 s: its request is complete.
    @Test func aWaitThatPassesIsA304AndBadPreferencesAreIgnored() async throws {
        let fixture = try Fixture()
        let configuration = HTTPServer.Configuration(
            host: "127.0.0.1", port: 0, idleTimeout: .seconds(1), headerTimeout: .seconds(1), maxWaitSeconds: 2
        )
        let answers = try await InProcessServer.serving(database: fixture.database.database, configuration: configuration) { _, address in
            let etag = try #require(try Curl.request(Self.url(address)).header("ETag"))
            // Asked for 50 s, held for the server's 2 at most.
            let waited = try await Self.poll(Self.url(address), etag: etag, wait: 50)
            let unreadable = try Curl.request(Self.url(address), ["-H", "If-None-Match: \(etag)", "-H", "Prefer: wait=soon"])
            let withoutETag = try Curl.request(Self.url(address), ["-H", "Prefer: wait=50"])
            return (waited, unreadable, withoutETag)
        }
        #expect(answers.0.status == 304 && answers.0.header("Preference-Applied") == "wait=2")
        #expect(answers.1.status == 304 && answers.1.header("Preference-Applied") == nil)
        #expect(answers.2.status == 200 && answers.2.header("Preference-Applied") == nil)
    }

    @Test func pastTheCapAPollIsAnsweredAtOnceAndAStopAnswersEveryHeldPoll() async throws {
        let fixture = try Fixture()
        let configuration = HTTPServer.Configuration(host: "127.0.0.1", port: 0, maxHeldPolls: 2, maxWaitSeconds: 60)
        let (overCap, held) = try await InProcessServer.serving(database: fixture.database.database, configuration: configuration) { server, address in
            let etag = try #require(try Curl.request(Self.url(address)).header("ETag"))
            let held = ["EX01", "EX02"].map { host in Task { try await Self.poll(Self.url(address, host: host), etag: etag, wait: 50) } }
            try await Self.awaitHeld(server, 2)
            let overCap = try await Self.poll(Self.url(address, host: "EX03"), etag: etag, wait: 50)
            // Plain polls and the API are served beside the held ones.
            #expect(try Curl.request("http://127.0.0.1:\(address.port ?? 0)/healthz").status == 200)
            return (overCap, held)
        }
        #expect(overCap.status == 304 && overCap.header("Preference-Applied") == nil)
        for poll in held {
            let answer = try await poll.value
            #expect(answer.status == 304 && answer.header("Preference-Applied") == "wait=50")
        }
    }

    @Test func aClosedConnectionLetsItsPollGo() async throws {
        let fixture = try Fixture()
        let configuration = HTTPServer.Configuration(host: "127.0.0.1", port: 0, maxHeldPolls: 2, maxWaitSeconds: 60)
        try await InProcessServer.serving(database: fixture.database.database, configuration: configuration) { server, address in
            let etag = try #require(try Curl.request(Self.url(address)).header("ETag"))
            // curl gives up after twenty seconds (long enough to be seen held while the whole suite runs on two
            // cores); the server lets the poll go when the connection closes.
            let poll = Task { try? await Self.poll(Self.url(address), etag: etag, wait: 50, maxTime: 20) }
            try await Self.awaitHeld(server, 1)
            _ = await poll.value
            try await Self.awaitHeld(server, 0)
        }
    }

    /// Anonymous polls, and polls whose check-in was not recorded, may take half the places at
    /// most: the rest stay for the fleet's agents.
    @Test func outsidersTakeHalfThePlacesAtMost() async throws {
        let fixture = try Fixture()
        let configuration = HTTPServer.Configuration(host: "127.0.0.1", port: 0, maxHeldPolls: 4, maxWaitSeconds: 60)
        let (outsider, members) = try await InProcessServer.serving(database: fixture.database.database, configuration: configuration) { server, address in
            let etag = try #require(try Curl.request(Self.url(address)).header("ETag"))
            let anonymous = (0..<2).map { _ in Task { try await Self.poll(Self.url(address), etag: etag, wait: 50) } }
            try await Self.awaitHeld(server, 2)
            let outsider = try await Self.poll(Self.url(address), etag: etag, wait: 50)
            // Check-ins are recorded here (the in-process server takes any): these hosts are the fleet.
            let members = ["EX01", "EX02"].map { host in Task { try await Self.poll(Self.url(address, host: host), etag: etag, wait: 50) } }
            try await Self.awaitHeld(server, 4)
            _ = anonymous
            return (outsider, members)
        }
        #expect(outsider.status == 304 && outsider.header("Preference-Applied") == nil)
        for member in members {
            #expect(try await member.value.header("Preference-Applied") == "wait=50")
        }
    }

    /// A poll that could never be answered `200` (`If-None-Match: *`), or whose head is large,
    /// is answered at once: a held poll keeps its request for the wait.
    @Test func wildcardTagsAndLargeHeadsAreNotHeld() async throws {
        let fixture = try Fixture()
        let configuration = HTTPServer.Configuration(host: "127.0.0.1", port: 0, maxHeldPolls: 4, maxWaitSeconds: 60)
        let answers = try await InProcessServer.serving(database: fixture.database.database, configuration: configuration) { _, address in
            let etag = try #require(try Curl.request(Self.url(address)).header("ETag"))
            let padding = String(repeating: "x", count: 9 * 1024)
            return [
                try Curl.request(Self.url(address), ["--max-time", "30", "-H", "If-None-Match: *", "-H", "Prefer: wait=50"]),
                try Curl.request(Self.url(address), ["--max-time", "30", "-H", "If-None-Match: \(etag)", "-H", "Prefer: wait=50", "-H", "X-Padding: \(padding)"]),
                try Curl.request(Self.url(address), ["--max-time", "30", "-H", "If-None-Match: \"a\", \"b\", \"c\", \"d\", \(etag)", "-H", "Prefer: wait=50"]),
            ]
        }
        for answer in answers {
            #expect(answer.status == 304 && answer.header("Preference-Applied") == nil)
        }
    }

    @Test func theWaitIsReadAsRFC7240Says() {
        func wait(_ values: [String]) -> Int? {
            var headers = HTTPHeaders()
            for value in values { headers.add(name: "Prefer", value: value) }
            return FeedEndpoint.requestedWait(headers, maximum: 300)
        }
        #expect(wait([]) == nil)
        #expect(wait(["wait=10"]) == 10)
        #expect(wait(["respond-async, wait=100"]) == 100)
        #expect(wait(["return=minimal", "Wait = \"7\""]) == 7)
        #expect(wait(["wait=100000"]) == 300)
        #expect(wait(["wait=0"]) == nil)
        #expect(wait(["wait=-5"]) == nil)
        #expect(wait(["wait=1e3"]) == nil)
        #expect(wait(["wait=99999999999999999999"]) == nil)
    }
}
