import Foundation
import OCSTestSupport
import Testing
import X509
@testable import OCSSigning

/// Microsoft's genuine OCS response, a document nobody here produced, judged at its signing time.
struct MicrosoftFeedTests {
    static func load() throws -> (feed: Data, root: Certificate) {
        try #require(FileManager.default.fileExists(atPath: SharedData.microsoftFeed), "the reference material ../shared is missing beside the checkout")
        let feed = try Data(contentsOf: URL(fileURLWithPath: SharedData.microsoftFeed))
        return (feed, try SigningIdentity.certificates(in: SharedData.microsoftRoot)[0])
    }

    static let signingTime = try! Date(SharedData.microsoftFeedSigningTime, strategy: .iso8601)

    @Test func verifiesAtItsSigningTimeAndReportsPING1() async throws {
        let (feed, root) = try Self.load()
        let verified = try await FeedVerifier(trust: .roots([root])).verify(feed, at: Self.signingTime)
        #expect(verified.configIDs == ["PING1"])
        #expect(verified.signer.hasPrefix("CN=Microsoft Exchange XML Signing,"))
    }

    @Test func todayItsSignerHasExpired() async throws {
        let (feed, root) = try Self.load()
        await #expect {
            try await FeedVerifier(trust: .roots([root])).verify(feed)
        } throws: { error in
            guard case .certificateExpired(let subject, let notValidAfter) = error as? FeedVerificationError else { return false }
            return subject.hasPrefix("CN=Microsoft Exchange XML Signing,")
                && notValidAfter.formatted(.iso8601.year().month().day()) == "2022-06-09"
                && (error as? FeedVerificationError)?.description.contains("expired on 2022-06-09") == true
        }
    }

    @Test func oneChangedByteInTheSignedContentFails() async throws {
        let (feed, root) = try Self.load()
        let position = try #require(feed.range(of: Data("Heartbeat".utf8))).lowerBound
        var changed = feed
        changed[position] = UInt8(ascii: "h")
        #expect(changed != feed)
        await #expect(throws: FeedVerificationError.invalid("the digest does not match: the document was changed after it was signed")) {
            try await FeedVerifier(trust: .roots([root])).verify(changed, at: Self.signingTime)
        }
    }

    @Test func aConfigAddedToItsTimestampObjectIsRefused() async throws {
        let (feed, root) = try Self.load()
        let text = String(decoding: feed, as: UTF8.self)
        let smuggled = text.replacingOccurrences(of: "<Object Id=\"ts-countersig\">", with: "<Object Id=\"ts-countersig\"><Config id=\"EVIL\"></Config>")
        #expect(smuggled != text)
        await #expect(throws: FeedVerificationError.self) {
            try await FeedVerifier(trust: .roots([root])).verify(Data(smuggled.utf8), at: Self.signingTime)
        }
    }

    @Test func anotherRootDoesNotTrustIt() async throws {
        let (feed, _) = try Self.load()
        await #expect(throws: FeedVerificationError.self) {
            try await FeedVerifier(trust: .roots([try TestPKI().root])).verify(feed, at: Self.signingTime)
        }
    }
}
