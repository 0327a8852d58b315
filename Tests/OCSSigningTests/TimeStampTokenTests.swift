import Crypto
import Foundation
import OCSTestSupport
import OCSXML
import Testing
import X509
@testable import OCSSigning

/// The RFC 3161 token in Microsoft's genuine feed (`Tests/Fixtures/microsoft`), and copies of it
/// altered one byte at a time.
struct MicrosoftTimeStamp {
    let feed: Data
    let token: [UInt8]
    let signatureValue: Data
    /// The certificates of `Object/X509Data`, beside the token.
    let objectCertificates: [Certificate]

    init() throws {
        feed = try Data(contentsOf: RepositoryFixtures.microsoftFeed)
        let structure = try SignedFeedStructure(StrictXMLParser.parse(feed))
        let object = try #require(structure.timeStamp)
        token = Array(object.token)
        signatureValue = structure.signatureValue
        objectCertificates = try object.certificates.map { try Certificate(derEncoded: Array($0)) }
    }

    static let stampedAt = "2021-09-15T16:42:08.621Z"

    /// The feed with its CounterSignature's text replaced by the base64 of `token`: the Object is
    /// outside the signed reference, so the feed's own signature still verifies.
    func feed(withToken token: [UInt8]) throws -> Data {
        try feed(replacingCounterSignatureText: Data(token).base64EncodedString())
    }

    func feed(replacingCounterSignatureText text: String) throws -> Data {
        let document = String(decoding: feed, as: UTF8.self)
        let open = try #require(document.range(of: "ts-format=\"cms-timestamp-message\" xmlns=\"\(SignedFeedStructure.timestampNamespace)\">"))
        let close = try #require(document.range(of: "</CounterSignature>"))
        return Data(document.replacingCharacters(in: open.upperBound..<close.lowerBound, with: text).utf8)
    }

    /// The token with the byte at `offset` changed.
    func token(changingByteAt offset: Int) -> [UInt8] {
        var changed = token
        changed[offset] ^= 0x01
        return changed
    }

    /// Where the TSTInfo's imprint (the SHA-256 of the SignatureValue) sits in the token.
    var imprintOffset: Int {
        get throws {
            let imprint = Array(SHA256.hash(data: signatureValue))
            return try #require((0...(token.count - imprint.count)).first { Array(token[$0..<($0 + imprint.count)]) == imprint })
        }
    }

    /// A byte inside the SignerInfo's RSA signature, the last field before the two end-of-contents.
    var signatureOffset: Int { token.count - 4 - 100 }
}

struct TimeStampTokenTests {
    @Test func microsoftsTokenVerifiesAgainstTheTimeStampingRoot() async throws {
        let stamp = try MicrosoftTimeStamp()
        let token = try TimeStampToken(berEncoded: stamp.token)
        #expect(FeedTime.formatMilliseconds(token.time) == MicrosoftTimeStamp.stampedAt)
        #expect(token.certificates.count == 2, "the authority and its PCA; the attribute certificate is skipped")

        let verified = try await token.verify(stamping: stamp.signatureValue, roots: [MicrosoftRoots.timeStamping], certificates: stamp.objectCertificates)
        #expect(FeedTime.formatMilliseconds(verified.time) == MicrosoftTimeStamp.stampedAt)
        #expect(abs(verified.time.timeIntervalSince1970 - 1_631_724_128.621) < 0.000_5)
        #expect(verified.signer.hasPrefix("CN=Microsoft Time-Stamp Service,"), "\(verified.signer)")
        // The authority's certificate expired in January 2022: judged at the stamped time.
        #expect(verified.signerCertificate.notValidAfter < Date())
    }

    @Test func theTokenCarriesItsOwnChain() async throws {
        let stamp = try MicrosoftTimeStamp()
        let verified = try await TimeStampToken(berEncoded: stamp.token).verify(stamping: stamp.signatureValue, roots: [MicrosoftRoots.timeStamping])
        #expect(verified.signer.hasPrefix("CN=Microsoft Time-Stamp Service,"))
    }

    @Test func aStampOfAnotherSignatureValueIsRefused() async throws {
        let stamp = try MicrosoftTimeStamp()
        var other = stamp.signatureValue
        other[0] ^= 0x01
        let imprint = SHA256.hash(data: stamp.signatureValue).map { String(format: "%02x", $0) }.joined()
        let given = SHA256.hash(data: other).map { String(format: "%02x", $0) }.joined()
        await #expect(throws: TimeStampError.stampsOtherData(algorithm: "SHA-256", stamped: imprint, expected: given)) {
            try await TimeStampToken(berEncoded: stamp.token).verify(stamping: other, roots: [MicrosoftRoots.timeStamping])
        }
        await #expect(throws: TimeStampError.self) {
            try await TimeStampToken(berEncoded: stamp.token).verify(stamping: Data(), roots: [MicrosoftRoots.timeStamping])
        }
    }

    @Test func aChangedImprintNoLongerMatchesTheSignedDigest() async throws {
        let stamp = try MicrosoftTimeStamp()
        let changed = stamp.token(changingByteAt: try stamp.imprintOffset)
        await #expect(throws: TimeStampError.contentAltered) {
            try await TimeStampToken(berEncoded: changed).verify(stamping: stamp.signatureValue, roots: [MicrosoftRoots.timeStamping])
        }
    }

    @Test func aChangedSignatureDoesNotVerify() async throws {
        let stamp = try MicrosoftTimeStamp()
        let changed = stamp.token(changingByteAt: stamp.signatureOffset)
        await #expect {
            try await TimeStampToken(berEncoded: changed).verify(stamping: stamp.signatureValue, roots: [MicrosoftRoots.timeStamping])
        } throws: { error in
            guard case .signatureInvalid(let signer) = error as? TimeStampError else { return false }
            return signer.hasPrefix("CN=Microsoft Time-Stamp Service,")
        }
    }

    @Test func theAuthorityMustChainToTheGivenRoot() async throws {
        let stamp = try MicrosoftTimeStamp()
        let token = try TimeStampToken(berEncoded: stamp.token)
        for wrong in [[MicrosoftRoots.codeSigning], [try TestPKI().root]] {
            await #expect {
                try await token.verify(stamping: stamp.signatureValue, roots: wrong, certificates: stamp.objectCertificates)
            } throws: { error in
                guard case .untrustedAuthority(let signer, _) = error as? TimeStampError else { return false }
                return signer.hasPrefix("CN=Microsoft Time-Stamp Service,")
                    && (error as? TimeStampError)?.description.contains("does not chain to the given time-stamping CA") == true
            }
        }
    }

    @Test func truncatedTokensAreRefused() throws {
        let stamp = try MicrosoftTimeStamp()
        for length in [0, 1, 2, 15, 100, stamp.token.count / 2, stamp.token.count - 2, stamp.token.count - 1] {
            #expect(throws: TimeStampError.self, "\(length) bytes") { try TimeStampToken(berEncoded: stamp.token.prefix(length)) }
        }
        #expect(throws: TimeStampError.malformed("it is empty")) { try TimeStampToken(berEncoded: [UInt8]()) }
    }

    @Test func trailingBytesAreRefused() throws {
        let stamp = try MicrosoftTimeStamp()
        for garbage: [UInt8] in [[0x00], [0x00, 0x00], [0x30, 0x00], Array("EVIL".utf8)] {
            #expect {
                try TimeStampToken(berEncoded: stamp.token + garbage)
            } throws: { error in
                (error as? TimeStampError)?.description.contains("Trailing unparsed data") == true
            }
        }
    }

    @Test func anOversizedTokenIsRefusedUnread() throws {
        #expect(throws: TimeStampError.tooLarge(bytes: 65_537)) { try TimeStampToken(berEncoded: [UInt8](repeating: 0x30, count: 65_537)) }
    }

    @Test func nestingBeyondTheLimitIsRefused() throws {
        // 60 nested indefinite-length SEQUENCEs: swift-asn1 stops at depth 50.
        let deep: [UInt8] = Array(repeating: [0x30, 0x80], count: 60).flatMap { $0 } + Array(repeating: [0x00, 0x00], count: 60).flatMap { $0 }
        #expect(throws: TimeStampError.self) { try TimeStampToken(berEncoded: deep) }
    }

    @Test func errorsAreOneLine() {
        let error = TimeStampError.untrustedAuthority(signer: "CN=evil\nsecond line", reason: "no path")
        #expect(!error.description.contains("\n"))
        #expect(error.description.contains("CN=evil\\nsecond line"))
    }
}
