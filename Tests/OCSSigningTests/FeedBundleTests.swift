import Foundation
import OCSDomain
import Testing
import X509
@testable import OCSSigning

/// Bundles of signed feeds for disconnected sites, and the signed envelope they and a site's
/// check-in files travel in: only what the pinned certificate signed is ever opened.
struct FeedBundleTests {
    static let identity = SigningIdentityTests.identity
    static let other = try! SigningIdentity.generate(commonName: "not the central key")
    static let exportedAt = Date(timeIntervalSince1970: 1_800_000_000)

    static let rules = [
        Mitigation(id: "M1", description: "for 15.2.1118.7 only", state: .published, applies: Applicability(narrowing: .ranges([
            BuildRange(fromBuild: try! ExchangeBuild(parsing: "15.2.1118.7"), untilBuild: try! ExchangeBuild(parsing: "15.2.1118.8")),
        ])),
                   actions: [.doNothing(description: nil)]),
        Mitigation(id: "PING1", description: "every build", state: .published, actions: [.doNothing(description: nil)]),
        Mitigation(id: "S1", description: "canary only", state: .published, actions: [.doNothing(description: nil)]),
    ]
    static let canary = try! HostGroup(name: "canary", selector: .names(["EX-CANARY*"]))
    static let rollout = Rollout(releases: ["S1": .groups(["canary"])], groups: [canary])

    static func export(validity: TimeInterval = 8 * 86400, by identity: SigningIdentity = identity, serial: Int64 = 12) throws -> FeedBundle {
        try FeedBundle.export(
            serial: serial, issued: "2026-11-23T06:00:00Z", rules: rules, rollout: rollout, catalog: .embedded,
            builds: [try ExchangeBuild(parsing: "15.2.1118.7"), try ExchangeBuild(parsing: "15.2.1544.4")],
            signer: try FeedSigner(identity: identity), exportedAt: exportedAt, validity: validity
        )
    }

    @Test func aBundleHoldsEachHostsDocumentOnceAndOpensOnlyWithThePinnedCertificate() async throws {
        let bundle = try Self.export()
        // Two rule sets (canary or not) by three targets (no build, two builds): four distinct
        // documents; 15.2.1544.4 gets the no-build document of each, so it needs no entry.
        #expect(bundle.feeds.count == 4 && bundle.documents.count == 4)
        #expect(!bundle.feeds.contains { $0.build?.description == "15.2.1544.4" })
        let file = Data(try bundle.sealed(by: Self.identity))
        let opened = try await FeedBundle.open(file, pinned: Self.identity.certificate, at: Self.exportedAt + 60)
        #expect(opened == bundle)
        // A host picks its document as the central instance would, by rule set and build.
        let build = try ExchangeBuild(parsing: "15.2.1118.7")
        func configs(_ build: ExchangeBuild?, _ host: PollingHost) throws -> [String] {
            let index = try #require(opened.document(for: build, received: opened.rollout.receivedIDs(ofIDs: opened.ruleIDs, for: host)))
            return opened.documents[index].configIDs
        }
        #expect(try configs(build, PollingHost(name: "EX-CANARY1")) == ["M1", "PING1", "S1"])
        #expect(try configs(build, PollingHost(name: "EX01")) == ["M1", "PING1"])
        #expect(try configs(nil, .anonymous) == ["PING1"])
        // A build the bundle lacks gets the no-build document of its rule set.
        #expect(try configs(try ExchangeBuild(parsing: "15.1.2507.6"), PollingHost(name: "EX-CANARY2")) == ["PING1", "S1"])
        // Each document verifies on its own against the central certificate, as agents verify it.
        for document in opened.documents {
            let feed = try await FeedVerifier(trust: .certificate(Self.identity.certificate)).verify(Data(document.body), at: Self.exportedAt + 60)
            #expect(feed.serial == "12" && feed.expires == FeedTime.format(Self.exportedAt + 8 * 86400))
        }

        // Pinned to another certificate: refused.
        await #expect(throws: FeedBundleProblem.self) { try await FeedBundle.open(file, pinned: Self.other.certificate, at: Self.exportedAt + 60) }
        // Past its validity: refused.
        await #expect(throws: FeedBundleProblem.expired(FeedTime.format(Self.exportedAt + 8 * 86400))) {
            try await FeedBundle.open(file, pinned: Self.identity.certificate, at: Self.exportedAt + 8 * 86400)
        }
    }

    @Test func aChangedByteAForeignKeyOrAForeignDocumentIsRefused() async throws {
        let bundle = try Self.export()
        let file = try bundle.sealed(by: Self.identity)
        let at = Self.exportedAt + 60
        // One byte of the payload changed (inside its base64): the signature no longer verifies.
        var text = String(decoding: file, as: UTF8.self)
        let payloadStart = try #require(text.range(of: "\"payload\":\""))
        let index = text.index(payloadStart.upperBound, offsetBy: 40)
        text.replaceSubrange(index...index, with: text[index] == "A" ? "B" : "A")
        await #expect(throws: FeedBundleProblem.envelope(.badSignature)) { try await FeedBundle.open(Data(text.utf8), pinned: Self.identity.certificate, at: at) }
        // Sealed by another key: its certificate is not the pinned one.
        let foreign = try bundle.sealed(by: Self.other)
        await #expect(throws: FeedBundleProblem.self) { try await FeedBundle.open(Data(foreign), pinned: Self.identity.certificate, at: at) }
        // Documents signed by another key in an envelope the pinned key sealed: each document must verify too.
        let resigned = try Self.export(by: Self.other)
        let mixed = Data(try resigned.sealed(by: Self.identity))
        do {
            _ = try await FeedBundle.open(mixed, pinned: Self.identity.certificate, at: at)
            Issue.record("a bundle of documents signed by another key was opened")
        } catch {
            #expect("\(error)".hasPrefix("document 0:"))
        }
        // A check-in file is not a bundle, whoever signed it.
        let checkIns = Data(try SignedEnvelope.seal(Array("{}".utf8), kind: .checkIns, by: Self.identity))
        await #expect(throws: FeedBundleProblem.envelope(.wrongKind(expected: .bundle, found: "a check-in file"))) {
            try await FeedBundle.open(checkIns, pinned: Self.identity.certificate, at: at)
        }
        // Not an envelope at all, or too large: refused unread.
        #expect(throws: SignedEnvelopeRefusal.self) { try SignedEnvelope.open(Data("{\"kind\":[[[[".utf8), kind: .bundle, pinned: Self.identity.certificate, at: at) }
        #expect(throws: SignedEnvelopeRefusal.tooLarge(maximum: SignedEnvelope.maximumBytes)) {
            try SignedEnvelope.open(Data(count: SignedEnvelope.maximumBytes + 1), kind: .bundle, pinned: Self.identity.certificate, at: at)
        }
    }

    @Test func everyRuleSetAHostCanReceiveIsEnumeratedAndBounded() throws {
        let ids = ["A", "B", "C", "D"]
        let groups = try ["g1", "g2", "g3"].map { try HostGroup(name: $0, selector: .names([$0.uppercased() + "*"])) }
        let rollout = Rollout(releases: ["B": .groups(["g1"]), "C": .groups(["g2"]), "D": .groups(["g1", "g3"])], groups: groups)
        let sets = try #require(rollout.receivableSets(ofIDs: ids, limit: 64))
        // Every combination of memberships, as receivedIDs gives it, and nothing else.
        var expected = Set<[String]?>()
        for mask in 0..<8 {
            let names = ["G1", "G2", "G3"].enumerated().filter { mask & (1 << $0.offset) != 0 }.map(\.element)
            // A host whose name matches several patterns is in several groups; try each single name too.
            for name in names.isEmpty ? ["NONE"] : names {
                expected.insert(rollout.receivedIDs(ofIDs: ids, for: PollingHost(name: name)))
            }
        }
        #expect(Set(sets).isSuperset(of: expected))
        #expect(Set(sets) == [["A"], ["A", "B", "D"], ["A", "C"], ["A", "D"], ["A", "C", "D"], nil])
        #expect(rollout.receivableSets(ofIDs: ids, limit: 2) == nil)
        #expect(Rollout.everyone.receivableSets(ofIDs: ids, limit: 1) == [nil])
    }
}
