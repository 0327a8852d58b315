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

    // MARK: Its time stamp

    static let microsoft = FeedVerifier(trust: .roots([MicrosoftRoots.codeSigning]), timeStampRoots: [MicrosoftRoots.timeStamping])

    @Test func withTheTimeStampingRootItVerifiesTodayAtItsStampedTime() async throws {
        let stamp = try MicrosoftTimeStamp()
        let verified = try await Self.microsoft.verify(stamp.feed)
        #expect(verified.configIDs == ["PING1"])
        #expect(verified.signer.hasPrefix("CN=Microsoft Exchange XML Signing,"))
        let stampedAt = try #require(verified.stampedAt)
        #expect(FeedTime.formatMilliseconds(stampedAt) == MicrosoftTimeStamp.stampedAt)
        #expect(verified.stampedBy?.hasPrefix("CN=Microsoft Time-Stamp Service,") == true, "\(verified.stampedBy ?? "-")")
        // The time given does not matter once the stamp verifies: the signer is judged when stamped.
        #expect(try await Self.microsoft.verify(stamp.feed, at: Date(timeIntervalSince1970: 4_000_000_000)).stampedAt == stampedAt)
    }

    @Test func withoutTimeStampingRootsTheStampIsIgnored() async throws {
        let stamp = try MicrosoftTimeStamp()
        let atSigning = try await FeedVerifier(trust: .roots([MicrosoftRoots.codeSigning])).verify(stamp.feed, at: Self.signingTime)
        #expect(atSigning.stampedAt == nil && atSigning.stampedBy == nil)
        // An altered stamp is not read either: the document verifies as before at its signing time.
        let altered = try stamp.feed(withToken: stamp.token(changingByteAt: stamp.signatureOffset))
        #expect(try await FeedVerifier(trust: .roots([MicrosoftRoots.codeSigning])).verify(altered, at: Self.signingTime).configIDs == ["PING1"])
    }

    @Test func anAlteredCounterSignatureRefusesTheDocument() async throws {
        let stamp = try MicrosoftTimeStamp()
        let imprint = try stamp.feed(withToken: stamp.token(changingByteAt: try stamp.imprintOffset))
        await #expect(throws: FeedVerificationError.timeStamp(.contentAltered)) { try await Self.microsoft.verify(imprint) }
        // Even at a time the signer was valid: a stamp that is there must verify.
        await #expect(throws: FeedVerificationError.timeStamp(.contentAltered)) { try await Self.microsoft.verify(imprint, at: Self.signingTime) }

        let signature = try stamp.feed(withToken: stamp.token(changingByteAt: stamp.signatureOffset))
        await #expect {
            try await Self.microsoft.verify(signature)
        } throws: { error in
            guard case .timeStamp(.signatureInvalid) = error as? FeedVerificationError else { return false }
            return "\(error)".hasPrefix("the signature's time stamp does not verify: the time-stamp token's signature does not verify with the key of CN=Microsoft Time-Stamp Service,")
        }
    }

    @Test func aStampJudgedAgainstTheWrongRootRefusesTheDocument() async throws {
        let stamp = try MicrosoftTimeStamp()
        let wrong = FeedVerifier(trust: .roots([MicrosoftRoots.codeSigning]), timeStampRoots: [MicrosoftRoots.codeSigning])
        await #expect {
            try await wrong.verify(stamp.feed)
        } throws: { error in
            guard case .timeStamp(.untrustedAuthority) = error as? FeedVerificationError else { return false }
            return true
        }
    }

    @Test func truncatedDocumentsAndTokensAreRefused() async throws {
        let stamp = try MicrosoftTimeStamp()
        await #expect {
            try await Self.microsoft.verify(stamp.feed.prefix(stamp.feed.count - 20))
        } throws: { error in
            guard case .notWellFormed = error as? FeedVerificationError else { return false }
            return true
        }
        for token in [Array(stamp.token.prefix(stamp.token.count / 2)), Array(stamp.token.dropLast(2)), stamp.token + [0x00, 0x00]] {
            await #expect {
                try await Self.microsoft.verify(try stamp.feed(withToken: token))
            } throws: { error in
                guard case .timeStamp(.malformed) = error as? FeedVerificationError else { return false }
                return true
            }
        }
    }

    @Test func aDocumentWithoutItsStampIsJudgedAtTheTimeGiven() async throws {
        let stamp = try MicrosoftTimeStamp()
        let document = String(decoding: stamp.feed, as: UTF8.self)
        let object = try #require(document.range(of: #"<Object Id="ts-countersig">[\s\S]*</Object>"#, options: .regularExpression))
        let unstamped = Data(document.replacingCharacters(in: object, with: "").utf8)
        let atSigning = try await Self.microsoft.verify(unstamped, at: Self.signingTime)
        #expect(atSigning.stampedAt == nil)
        await #expect {
            try await Self.microsoft.verify(unstamped)
        } throws: { error in
            guard case .certificateExpired = error as? FeedVerificationError else { return false }
            return true
        }
    }

    @Test func anotherTimeStampFormatIsRefused() async throws {
        let stamp = try MicrosoftTimeStamp()
        let document = String(decoding: stamp.feed, as: UTF8.self).replacingOccurrences(of: "ts-format=\"cms-timestamp-message\"", with: "ts-format=\"pkcs7\"")
        await #expect(throws: FeedVerificationError.timeStamp(.malformed("its ts-format is 'pkcs7', not cms-timestamp-message"))) {
            try await Self.microsoft.verify(Data(document.utf8))
        }
    }
}
