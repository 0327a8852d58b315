import Foundation
import NIOCore
import NIOPosix
import OCSDomain
import OCSSigning
import OCSStorage
import OCSTestSupport
import Synchronization
import Testing
@testable import OCSFeed

struct FeedServiceTests {
    /// One key for the suite: RSA-3072 generation is slow, and nothing here depends on which key.
    static let signer = try! FeedSigner(identity: SigningIdentity.generate(commonName: "feed tests"))

    static let ping = Mitigation(id: "PING1", description: "ping", state: .published, actions: [.doNothing(description: nil)])
    static let m1 = Mitigation(id: "M1", description: "m1", state: .published, applies: Applicability(products: [.exchange2019], narrowing: .fixedBy("Oct22SU")), actions: [.doNothing(description: nil)])

    @Test func servesTheRulesForEachBuild() throws {
        let temporary = try TestDatabase()
        let store = RuleStore(database: temporary.database)
        try store.importRules([Self.ping, Self.m1])
        let signingTime = Date(timeIntervalSince1970: 1_795_500_000)
        let service = FeedService(store: store, signer: Self.signer, clock: { signingTime })
        #expect(try service.feed(for: ExchangeBuild(parsing: "15.2.1118.7")).configIDs == ["M1", "PING1"])
        #expect(try service.feed(for: ExchangeBuild(parsing: "15.2.1118.15")).configIDs == ["PING1"])
        #expect(try service.feed(for: nil).configIDs == ["PING1"])
        let feed = try service.feed(for: ExchangeBuild(parsing: "15.2.986.5"))
        let text = String(decoding: feed.body, as: UTF8.self)
        let set = try store.publishedSet()
        // The clock is behind `issued`: the window starts at `issued`.
        let expires = FeedTime.format(try #require(FeedTime.parse(set.issued)).addingTimeInterval(86400))
        let document = FeedRenderer().render([Self.m1, Self.ping], rootAttributes: [("serial", "2"), ("issued", set.issued), ("expires", expires)])
        #expect(text == document.signed(with: try Self.signer.signatureElement(digestInput: Data(document.digestInput.utf8))))
        #expect(text.contains("<EOCS expires=\"\(expires)\" issued=\"\(set.issued)\" serial=\"2\" version=\"1.0.4\">"), "signed for a day")
        #expect(try service.feed(for: ExchangeBuild(parsing: "15.2.986.5")) == feed, "the same bytes from the cache")
        #expect(feed.etag.count == 34 && feed.etag.hasPrefix("\"") && feed.etag.hasSuffix("\""))
    }

    /// Hosts that receive the same rules share one signed feed: the cache is keyed by the set
    /// of rules received, never by host.
    @Test func aStagedRuleReachesOnlyItsGroupAndHostsShareFeedsBySetOfRules() throws {
        let temporary = try TestDatabase()
        let store = RuleStore(database: temporary.database)
        let context = ChangeContext(actor: "test")
        try store.importRules([Self.ping])
        try HostGroupStore(database: temporary.database).create(name: "canary", selector: .names(["LAB*"]), context: context)
        try store.put(Mitigation(id: "S1", description: "staged", actions: [.doNothing(description: nil)]), context: context)
        try store.publish(id: "S1", to: .to(["canary"]), context: context)
        let signatures = Synchronization.Atomic<Int>(0)
        let service = FeedService(store: store, signer: Self.signer, signed: { signatures.add(1, ordering: .relaxed) })
        let build = try ExchangeBuild(parsing: "15.2.1118.7")
        for name in ["lab-1", "LAB-2", "lab-3"] {
            #expect(try service.feed(for: build, host: PollingHost(name: name)).configIDs == ["PING1", "S1"])
        }
        for host in [PollingHost(name: "prod-1"), PollingHost(serverID: "6f1d2c3b-0a4e-4b5c-9d8e-7f6a5b4c3d2e"), .anonymous] {
            #expect(try service.feed(for: build, host: host).configIDs == ["PING1"])
        }
        #expect(signatures.load(ordering: .relaxed) == 2, "one feed per set of rules, whatever the number of hosts")
        let serial = try store.serial()
        #expect(service.cachedFeed(for: build, host: PollingHost(name: "lab-99"), serial: serial)?.configIDs == ["PING1", "S1"])
        try store.promote(id: "S1", to: .everyone, context: context)
        #expect(try store.serial() == serial + 1)
        #expect(try service.feed(for: build).configIDs == ["PING1", "S1"])
    }

    /// The gzip representation is made with the feed, once, and shared by every build served it.
    @Test func eachFeedIsGzippedOnceWhenSigned() throws {
        let temporary = try TestDatabase()
        let store = RuleStore(database: temporary.database)
        try store.importRules([Self.ping, Self.m1])
        let signings = Mutex(0)
        let service = FeedService(store: store, signer: Self.signer, signed: { signings.withLock { $0 += 1 } })
        let feed = try service.feed(for: ExchangeBuild(parsing: "15.2.1118.7"))
        #expect(feed.gzipETag == String(feed.etag.dropLast()) + "-gzip\"")
        #expect(Array(feed.bodyBuffer.readableBytesView) == feed.body)
        let scratch = try ScratchFolder()
        let file = scratch.url.appendingPathComponent("feed.xml.gz")
        try Data(feed.gzipBuffer.readableBytesView).write(to: file)
        #expect(try Command.run("gzip", ["--decompress", "--stdout", file.path]).stdout == Data(feed.body))
        #expect(feed.gzipBuffer.readableBytes < feed.body.count)
        #expect(try service.feed(for: ExchangeBuild(parsing: "15.2.1118.9")) == feed, "another build with the same configs")
        #expect(signings.withLock { $0 } == 1)
    }

    @Test func feedsAreVerifiableByThePinnedCertificate() async throws {
        let temporary = try TestDatabase()
        let store = RuleStore(database: temporary.database)
        try store.importRules([Self.ping, Self.m1])
        let feed = try FeedService(store: store, signer: Self.signer).feed(for: ExchangeBuild(parsing: "15.2.1118.7"))
        let verified = try await FeedVerifier(trust: .certificate(Self.signer.identity.certificate)).verify(Data(feed.body))
        #expect(verified.configIDs == ["M1", "PING1"])
        #expect(verified.serial == "2")
    }

    @Test func seesChangesFromAnotherConnectionOnTheNextCall() throws {
        let temporary = try TestDatabase()
        let service = FeedService(store: RuleStore(database: temporary.database), signer: Self.signer)
        let build = try ExchangeBuild(parsing: "15.2.1118.7")
        #expect(try service.feed(for: build).configIDs == [])
        let other = RuleStore(database: try temporary.reopen())
        try other.importRules([Self.ping])
        #expect(try service.feed(for: build).configIDs == ["PING1"])
        try other.importRules([Self.m1])
        let feed = try service.feed(for: build)
        #expect(feed.configIDs == ["M1", "PING1"])
        #expect(feed.serial == 2)
        var retired = Self.ping
        retired.state = .retired
        try other.importRules([retired])
        #expect(try service.feed(for: build).configIDs == ["M1"])
    }
}

/// A clock a test moves by hand, for the feed service's signing time.
final class MovableClock: Sendable {
    private let time: Mutex<Date>

    init(_ start: Date) {
        time = Mutex(start)
    }

    var now: Date { time.withLock { $0 } }

    func advance(by seconds: TimeInterval) {
        time.withLock { $0 += seconds }
    }
}

struct FeedExpiryTests {
    /// Now, to the second: the feed's times carry no fraction.
    static func wholeSecondNow() -> Date {
        Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
    }

    static func text(_ feed: Feed) -> String {
        String(decoding: feed.body, as: UTF8.self)
    }

    @Test func signsEachFeedAgainOnceHalfItsValidityHasPassedWithTheSameSerialAndALaterExpiry() async throws {
        let temporary = try TestDatabase()
        let store = RuleStore(database: temporary.database)
        try store.importRules([FeedServiceTests.ping, FeedServiceTests.m1])
        // Signing windows are counted from the rule set's issued time.
        let start = try #require(FeedTime.parse(try store.publishedSet().issued))
        let clock = MovableClock(start)
        let signings = Mutex(0)
        let service = FeedService(store: store, signer: FeedServiceTests.signer, validity: 3600, clock: { clock.now }) {
            signings.withLock { $0 += 1 }
        }
        let build = try ExchangeBuild(parsing: "15.2.1118.15")
        let sameConfigs = try ExchangeBuild(parsing: "15.2.1258.12")

        let first = try service.feed(for: build)
        #expect(first.configIDs == ["PING1"])
        #expect(Self.text(first).contains("<EOCS expires=\"\(FeedTime.format(start + 3600))\" issued="))
        #expect(first.refreshAfter == start + 1800)
        #expect(try service.feed(for: sameConfigs) == first, "another build with the same configs shares the signed feed")

        // Just before half the validity: served from memory, not signed again.
        clock.advance(by: 1799)
        #expect(service.cachedFeed(for: build, serial: first.serial) == first)
        #expect(try service.feed(for: build) == first)
        #expect(signings.withLock { $0 } == 1)

        // At half the validity: the next poll that wants it gets it signed again.
        clock.advance(by: 1)
        #expect(service.cachedFeed(for: build, serial: first.serial) == nil, "due to be signed again")
        let second = try service.feed(for: build)
        #expect(signings.withLock { $0 } == 2)
        #expect(second.serial == first.serial && second.configIDs == first.configIDs)
        #expect(second.etag != first.etag)
        #expect(Self.text(second).contains("<EOCS expires=\"\(FeedTime.format(start + 5400))\" issued="))
        #expect(second.refreshAfter == start + 3600)
        // The other build with those configs gets the feed signed again too, without another signing.
        #expect(try service.feed(for: sameConfigs) == second)
        #expect(signings.withLock { $0 } == 2)

        // Both verify with the same serial and issued time; the second expires later.
        let verifier = FeedVerifier(trust: .certificate(FeedServiceTests.signer.identity.certificate))
        let old = try await verifier.verify(Data(first.body), at: start + 1800)
        let renewed = try await verifier.verify(Data(second.body), at: start + 1800)
        #expect(renewed.serial == old.serial && renewed.issued == old.issued)
        #expect(old.expires == FeedTime.format(start + 3600))
        #expect(renewed.expires == FeedTime.format(start + 5400))
        // Replayed after its expiry, the first is refused; the renewed one still verifies then.
        await #expect(throws: FeedVerificationError.feedExpired(expires: FeedTime.format(start + 3600), at: start + 3600)) {
            try await verifier.verify(Data(first.body), at: start + 3600)
        }
        #expect(try await verifier.verify(Data(second.body), at: start + 3600) == renewed)
    }

    @Test func aRuleChangeIsServedWithAFullValidity() throws {
        let temporary = try TestDatabase()
        let store = RuleStore(database: temporary.database)
        try store.importRules([FeedServiceTests.ping])
        let start = Self.wholeSecondNow()
        let clock = MovableClock(start)
        let service = FeedService(store: store, signer: FeedServiceTests.signer, validity: 600, clock: { clock.now })
        let first = try service.feed(for: nil)
        clock.advance(by: 60)
        try store.importRules([FeedServiceTests.ping, FeedServiceTests.m1])
        let changed = try service.feed(for: nil)
        #expect(changed.serial == first.serial + 1)
        // A full validity from the change's issued time.
        let issued = try #require(FeedTime.parse(try store.publishedSet().issued))
        #expect(Self.text(changed).contains("expires=\"\(FeedTime.format(issued + 600))\""))
        #expect(changed.refreshAfter == issued + 300)
    }

    /// Replicas on one database sign the same bytes for the same state whenever they sign within
    /// one window, so a load balancer may send each poll elsewhere and `If-None-Match` still holds.
    @Test func replicasSignTheSameBytesWithinAWindow() throws {
        let temporary = try TestDatabase()
        let store = RuleStore(database: temporary.database)
        try store.importRules([FeedServiceTests.ping, FeedServiceTests.m1])
        let issued = try #require(FeedTime.parse(try store.publishedSet().issued))
        let build = try ExchangeBuild(parsing: "15.2.1118.7")
        func feed(at offset: TimeInterval) throws -> Feed {
            // A replica of its own: its own cache and clock, the one database.
            try FeedService(store: RuleStore(database: temporary.database), signer: FeedServiceTests.signer, validity: 3600, clock: { issued + offset })
                .feed(for: build)
        }
        let early = try feed(at: 1900)
        let late = try feed(at: 3599)
        #expect(early.body == late.body && early.etag == late.etag)
        #expect(Self.text(early).contains("expires=\"\(FeedTime.format(issued + 5400))\""))
        let next = try feed(at: 3600)
        #expect(next.body != early.body, "the next window signs a later expiry")
        #expect(Self.text(next).contains("expires=\"\(FeedTime.format(issued + 7200))\""))
    }
}

struct CheckInRecorderTests {
    @Test func completesEachCheckInAfterItsCommitOnItsEventLoop() async throws {
        let temporary = try TestDatabase()
        let store = CheckInStore(database: temporary.database)
        let rules = RuleStore(database: temporary.database)
        try rules.importRules([FeedServiceTests.ping])
        let recorder = CheckInRecorder(store: store)
        // Two loops: a batch's results go back to each caller's own loop.
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let count = 200
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<count {
                group.addTask {
                    let checkIn = CheckIn(
                        serverID: nil, serverName: "host\(index)", build: nil, orgID: nil, applied: [], blocked: [],
                        mitigationsEnabled: nil, dataCollectionEnabled: nil, remoteAddress: nil, userAgent: nil, time: Date()
                    )
                    let loop = loops.next()
                    let recorded = recorder.record(checkIn, on: loop)
                    let completedOnItsLoop = try await recorded.map { _ in loop.inEventLoop }.get()
                    let result = try await recorded.get()
                    // Durable before completion: the check-in is readable from the database now.
                    let visible = try store.host(HostReference(checkIn.serverName!)!).map { try store.history(hostID: $0.id).items.count } ?? 0
                    #expect(completedOnItsLoop)
                    #expect(visible == 1)
                    #expect(result == CheckInRecorder.Recorded(serial: 1, outcome: .recorded))
                }
            }
            try await group.waitForAll()
        }
        try await loops.shutdownGracefully()
        #expect(try store.historyCount() == count)
        #expect(try store.hostCount() == count)
    }

    /// A server waits for the check-ins queued before it stops its event loops: every poll's
    /// result is then delivered (run as the loops shut down), none dropped with a stopped loop.
    @Test func finishingPendingCheckInsBeforeTheLoopsStopDeliversEveryResult() async throws {
        let temporary = try TestDatabase()
        let store = CheckInStore(database: temporary.database)
        let recorder = CheckInRecorder(store: store)
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let delivered = Mutex(0)
        for index in 0..<50 {
            let checkIn = CheckIn(
                serverID: nil, serverName: "late\(index)", build: nil, orgID: nil, applied: [], blocked: [],
                mitigationsEnabled: nil, dataCollectionEnabled: nil, remoteAddress: nil, userAgent: nil, time: Date()
            )
            recorder.record(checkIn, on: loops.next()).whenComplete { _ in delivered.withLock { $0 += 1 } }
        }
        await recorder.finishPending()
        try await loops.shutdownGracefully()
        #expect(delivered.withLock { $0 } == 50)
        #expect(try store.hostCount() == 50)
    }
}
