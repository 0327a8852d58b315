import Foundation
import OCSDomain
import OCSSigning
import OCSStorage
import OCSTestSupport
import Testing
@testable import OCSFeed

/// A disconnected site's instance serves the bundle it imported, verbatim, with no signer; a
/// newer bundle is served once its import moved the serial.
struct BundleServingTests {
    static let identity = FeedServiceTests.signer.identity
    static let canary = try! HostGroup(name: "canary", selector: .hosts(["EX-CANARY1"]))

    static func bundle(serial: Int64, exportedAt: Date) throws -> (FeedBundle, Data) {
        let staged = Mitigation(id: "S1", description: "canary only", state: .published, actions: [.doNothing(description: nil)])
        let bundle = try FeedBundle.export(
            serial: serial, issued: "2026-11-23T06:00:00Z", rules: [FeedServiceTests.m1, FeedServiceTests.ping, staged],
            rollout: Rollout(releases: ["S1": .groups(["canary"])], groups: [canary]), catalog: .embedded,
            builds: [try ExchangeBuild(parsing: "15.2.1118.7")], signer: FeedServiceTests.signer, exportedAt: exportedAt, validity: 8 * 86400
        )
        return (bundle, Data(try bundle.sealed(by: identity)))
    }

    static func keep(_ bundle: FeedBundle, _ file: Data, in store: BundleStore) throws {
        _ = try store.keep(file, verified: BundleStore.Verified(
            serial: bundle.serial, exportedAt: bundle.exportedAt, expires: bundle.expires,
            certificate: Data(SigningIdentity.der(identity.certificate)), fingerprint: identity.fingerprint
        ), context: .localUser)
    }

    @Test func theImportedBundleIsServedVerbatimWithoutASigner() throws {
        let temporary = try TestDatabase()
        let bundles = BundleStore(database: temporary.database)
        let service = FeedService(store: RuleStore(database: temporary.database), signer: nil, bundles: bundles)
        #expect(throws: (any Error).self) { try service.feed(for: nil) }
        #expect(try service.servingProblem() == "no signing key and no imported bundle")

        let now = Date()
        let (first, file) = try Self.bundle(serial: 4, exportedAt: now)
        try Self.keep(first, file, in: bundles)
        let build = try ExchangeBuild(parsing: "15.2.1118.7")
        let served = try service.feed(for: build, host: PollingHost(name: "EX-CANARY1"))
        let expected = try #require(first.document(for: build, received: nil))
        #expect(served.body == first.documents[expected].body && served.configIDs == ["M1", "PING1", "S1"])
        #expect(try service.feed(for: build, host: PollingHost(name: "EX01")).configIDs == ["M1", "PING1"])
        #expect(try service.feed(for: nil).configIDs == ["PING1"])
        // From memory afterwards, the same object: the bundle's documents are never signed again.
        #expect(service.cachedFeed(for: build, host: PollingHost(name: "EX-CANARY1")) === served)
        #expect(try service.servingProblem(at: now) == nil)
        #expect(try service.servingProblem(at: first.expires)?.contains("expired") == true)

        // A newer bundle (the same serial, exported later) is served once its import moved the serial.
        let (second, later) = try Self.bundle(serial: 4, exportedAt: now + 3600)
        try Self.keep(second, later, in: bundles)
        try service.refreshSerial()
        #expect(service.cachedFeed(for: build, host: PollingHost(name: "EX01")) == nil)
        let renewed = try service.feed(for: build, host: PollingHost(name: "EX01"))
        #expect(renewed.body == second.documents[try #require(second.document(for: build, received: ["M1", "PING1"]))].body)
        #expect(renewed.body != served.body)
    }
}
