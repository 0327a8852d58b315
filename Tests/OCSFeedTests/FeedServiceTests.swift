import Foundation
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
        let temporary = try TemporaryDatabase()
        let store = RuleStore(database: temporary.database)
        try store.importRules([Self.ping, Self.m1])
        let service = FeedService(store: store, signer: Self.signer)
        #expect(try service.feed(for: ExchangeBuild(parsing: "15.2.1118.7")).configIDs == ["M1", "PING1"])
        #expect(try service.feed(for: ExchangeBuild(parsing: "15.2.1118.15")).configIDs == ["PING1"])
        #expect(try service.feed(for: nil).configIDs == ["PING1"])
        let feed = try service.feed(for: ExchangeBuild(parsing: "15.2.986.5"))
        let text = String(decoding: feed.body, as: UTF8.self)
        let set = try store.publishedSet()
        let document = FeedRenderer().render([Self.m1, Self.ping], rootAttributes: [("serial", "2"), ("issued", set.issued)])
        #expect(text == document.signed(with: try Self.signer.signatureElement(digestInput: Data(document.digestInput.utf8))))
        #expect(text.contains("<EOCS issued=\"\(set.issued)\" serial=\"2\" version=\"1.0.4\">"))
        #expect(try service.feed(for: ExchangeBuild(parsing: "15.2.986.5")) == feed, "the same bytes from the cache")
        #expect(feed.etag.count == 34 && feed.etag.hasPrefix("\"") && feed.etag.hasSuffix("\""))
    }

    /// The gzip representation is made with the feed, once, and shared by every build served it.
    @Test func eachFeedIsGzippedOnceWhenSigned() throws {
        let temporary = try TemporaryDatabase()
        let store = RuleStore(database: temporary.database)
        try store.importRules([Self.ping, Self.m1])
        let signings = Mutex(0)
        let service = FeedService(store: store, signer: Self.signer) { signings.withLock { $0 += 1 } }
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
        let temporary = try TemporaryDatabase()
        let store = RuleStore(database: temporary.database)
        try store.importRules([Self.ping, Self.m1])
        let feed = try FeedService(store: store, signer: Self.signer).feed(for: ExchangeBuild(parsing: "15.2.1118.7"))
        let verified = try await FeedVerifier(trust: .certificate(Self.signer.identity.certificate)).verify(Data(feed.body))
        #expect(verified.configIDs == ["M1", "PING1"])
        #expect(verified.serial == "2")
    }

    @Test func seesChangesFromAnotherConnectionOnTheNextCall() throws {
        let temporary = try TemporaryDatabase()
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

struct CheckInRecorderTests {
    @Test func completesEachCheckInAfterItsCommit() async throws {
        let temporary = try TemporaryDatabase()
        let store = CheckInStore(database: temporary.database)
        let rules = RuleStore(database: temporary.database)
        try rules.importRules([FeedServiceTests.ping])
        let recorder = CheckInRecorder(store: store, rules: rules)
        let count = 200
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<count {
                group.addTask {
                    let checkIn = CheckIn(
                        serverID: nil, serverName: "host\(index)", build: nil, orgID: nil, applied: [], blocked: [],
                        mitigationsEnabled: nil, dataCollectionEnabled: nil, remoteAddress: nil, userAgent: nil, time: Date()
                    )
                    let (visible, serial) = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<(Int, Int64), any Error>) in
                        recorder.record(checkIn) { result in
                            // Durable before completion: the check-in is readable from the database now.
                            continuation.resume(with: result.flatMap { serial in
                                Result { (try store.host(HostReference(checkIn.serverName!)!).map { try store.history(hostID: $0.id).items.count } ?? 0, serial) }
                            })
                        }
                    }
                    #expect(visible == 1)
                    #expect(serial == 1)
                }
            }
            try await group.waitForAll()
        }
        #expect(try store.historyCount() == count)
        #expect(try store.hostCount() == count)
    }
}
