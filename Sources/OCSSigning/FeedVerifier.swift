import Crypto
import Foundation
import OCSDomain
import OCSXML
import SwiftASN1
import X509
import _CryptoExtras

/// Verifies a downloaded feed's enveloped signature against a pinned certificate or a trusted CA.
///
/// Trust comes only from what the caller pins: the key in the document's `KeyValue` is ignored,
/// and the signing certificate in `X509Data` must be the pinned one or chain to the pinned root.
/// The document is read by `StrictXMLParser` (UTF-8, no DTD, no entities, no I/O) and must hold
/// exactly the signature profile, so what it reports is only what the signature covers.
///
/// Given time-stamping roots, a feed whose signature carries Microsoft's time stamp (an RFC 3161
/// token over its `SignatureValue`) has its signer judged at the stamped time, as Windows judges
/// time-stamped code: Microsoft's signing certificate expired in 2022, its document did not.
public struct FeedVerifier: Sendable {
    /// What the signer must be.
    public enum Trust: Sendable {
        /// Exactly this signing certificate.
        case certificate(Certificate)
        /// Any code-signing certificate that chains (through the document's chain) to one of these roots.
        case roots([Certificate])
    }

    public let trust: Trust
    /// The roots a time stamp's authority must chain to (time stamping) for the stamp to count;
    /// none: a stamp is ignored and the signer judged at the time given.
    public let timeStampRoots: [Certificate]

    /// The largest document read; anything larger is refused unread.
    public static let maximumDocumentBytes = StrictXMLParser.Limits().maximumBytes

    /// The time-stamp format Microsoft's `CounterSignature` declares.
    public static let timeStampFormat = "cms-timestamp-message"

    /// An extended key usage the signing certificate must carry besides code signing: Microsoft's
    /// EM service requires its own (`exchangeMitigationSigning`) of the documents it accepts.
    public let signerUsage: ExtendedKeyUsage.Usage?

    /// Microsoft's usage for signing Exchange mitigation documents, which its signer carries.
    public static let exchangeMitigationSigning = ExtendedKeyUsage.Usage(oid: [1, 3, 6, 1, 4, 1, 311, 76, 57, 1, 11])

    public init(trust: Trust, timeStampRoots: [Certificate] = [], signerUsage: ExtendedKeyUsage.Usage? = nil) {
        self.trust = trust
        self.timeStampRoots = timeStampRoots
        self.signerUsage = signerUsage
    }

    /// A feed that verified: what it carries and who signed it.
    public struct VerifiedFeed: Sendable, Equatable {
        public let serial: String?
        public let issued: String?
        /// When the feed stops being valid (`2026-11-24T06:00:00Z`); nil in a feed that carries none,
        /// as Microsoft's. A feed verified is not expired at the time it was judged at.
        public let expires: String?
        /// The ids of the signed `Config` elements, in document order.
        public let configIDs: [String]
        public let signer: String
        /// When a trusted time-stamping authority stamped the signature; the signer was judged at
        /// this time. Nil when no time-stamping root was given or the document carries no stamp.
        public let stampedAt: Date?
        /// The time-stamping authority's subject, with `stampedAt`.
        public let stampedBy: String?

        init(serial: String?, issued: String?, expires: String? = nil, configIDs: [String], signer: String, stamp: TimeStampToken.Verified? = nil) {
            self.serial = serial
            self.issued = issued
            self.expires = expires
            self.configIDs = configIDs
            self.signer = signer
            self.stampedAt = stamp?.time
            self.stampedBy = stamp?.signer
        }
    }

    /// A verified feed with what an agent acts on: the signed `Config` elements with their actions,
    /// and the signing certificate's SHA-256 fingerprint.
    public struct VerifiedContent: Sendable, Equatable {
        public let feed: VerifiedFeed
        public let signerFingerprint: String
        public let configs: [SignedConfig]
    }

    /// Verifies `data`, judging the certificates' validity and the feed's `expires` at `time` (the
    /// signing time of an old document). With `timeStampRoots`, a stamped document's signer is
    /// judged at the stamped time instead, and a stamp that does not verify refuses the document.
    public func verify(_ data: Data, at time: Date = Date()) async throws(FeedVerificationError) -> VerifiedFeed {
        try await verifyContent(data, at: time).feed
    }

    /// Verifies `data` as `verify(_:at:)` does, and returns the signed content too.
    public func verifyContent(_ data: Data, at time: Date = Date()) async throws(FeedVerificationError) -> VerifiedContent {
        let feed: SignedFeedStructure
        do {
            feed = try SignedFeedStructure(StrictXMLParser.parse(data))
        } catch let error as XMLSyntaxError {
            throw .notWellFormed(error)
        } catch let error as FeedVerificationError {
            throw error
        } catch {
            throw .invalid("\(error)")
        }

        // The digest: the canonical document without the signature (the enveloped transform).
        let canonicalDocument = CanonicalXML.serialize(feed.root, omittingChild: feed.signatureIndex)
        guard Data(SHA256.hash(data: Data(canonicalDocument.utf8))) == feed.digestValue else {
            throw .invalid("the digest does not match: the document was changed after it was signed")
        }

        let certificates = try feed.certificates.map { der throws(FeedVerificationError) in
            do {
                return try Certificate(derEncoded: Array(der))
            } catch {
                throw .invalid("an X509Certificate is not a valid certificate")
            }
        }
        let signer = certificates[0]
        guard let publicKey = _RSA.Signing.PublicKey(signer.publicKey) else {
            throw .invalid("the signing certificate's key is not RSA")
        }
        let canonicalSignedInfo = CanonicalXML.serialize(feed.signedInfo, ancestors: [feed.root, feed.signature])
        guard publicKey.isValidSignature(
            _RSA.Signing.RSASignature(rawRepresentation: feed.signatureValue), for: Data(canonicalSignedInfo.utf8), padding: .insecurePKCS1v1_5
        ) else {
            throw .invalid("the signature value does not verify with the signing certificate's key")
        }

        let stamp = try await checkTimeStamp(feed)
        try await checkTrust(signer, chain: Array(certificates.dropFirst()), at: stamp?.time ?? time)
        // Read from the verified tree: `expires` is an attribute of the root, which the digest covers.
        let expires = feed.root.attribute("expires")
        try Self.checkExpiry(expires, at: time)

        let verified = VerifiedFeed(
            serial: feed.root.attribute("serial"),
            issued: feed.root.attribute("issued"),
            expires: expires,
            configIDs: feed.configs.map { $0.attribute("id") ?? "" },
            signer: "\(signer.subject)",
            stamp: stamp
        )
        return VerifiedContent(feed: verified, signerFingerprint: SigningIdentity.fingerprint(of: signer), configs: feed.configs.map(SignedConfig.init))
    }

    /// Refuses a feed whose `expires` is malformed or not after `time`; a feed without one passes.
    private static func checkExpiry(_ expires: String?, at time: Date) throws(FeedVerificationError) {
        guard let expires else { return }
        guard let expiry = FeedTime.parse(expires) else {
            throw .invalid("the feed's expires '\(expires.prefix(40))' is not a UTC time like 2026-11-24T06:00:00Z")
        }
        guard time < expiry else { throw .feedExpired(expires: expires, at: time) }
    }

    /// The document's time stamp verified against `timeStampRoots`; nil when none are given or the
    /// document carries no stamp. A stamp that is there but does not verify refuses the document:
    /// its signer would otherwise be judged at the time given, and an altered stamp is an attack.
    private func checkTimeStamp(_ feed: SignedFeedStructure) async throws(FeedVerificationError) -> TimeStampToken.Verified? {
        guard !timeStampRoots.isEmpty, let object = feed.timeStamp else { return nil }
        if let format = object.format, format != Self.timeStampFormat {
            throw .timeStamp(.malformed("its ts-format is '\(format.prefix(40))', not \(Self.timeStampFormat)"))
        }
        do {
            let certificates = try object.certificates.map { der throws(TimeStampError) in
                do {
                    return try Certificate(derEncoded: Array(der))
                } catch {
                    throw .malformed("an X509Certificate beside it is not a valid certificate")
                }
            }
            return try await TimeStampToken(berEncoded: object.token)
                .verify(stamping: feed.signatureValue, roots: timeStampRoots, certificates: certificates)
        } catch {
            throw .timeStamp(error)
        }
    }

    private func checkTrust(_ signer: Certificate, chain: [Certificate], at time: Date) async throws(FeedVerificationError) {
        let usages = (try? signer.extensions.extendedKeyUsage) ?? nil
        guard usages?.contains(.codeSigning) == true else {
            throw .untrusted("the signing certificate (\(signer.subject)) does not allow code signing")
        }
        if let signerUsage, usages?.contains(signerUsage) != true {
            throw .untrusted("the signing certificate (\(signer.subject)) lacks the extended key usage \(signerUsage) the document's signer must have")
        }
        if case .certificate(let pinned) = trust, pinned != signer {
            throw .untrusted("the document is signed by \(signer.subject) (\(SigningIdentity.fingerprint(of: signer))), not by the pinned certificate (\(SigningIdentity.fingerprint(of: pinned)))")
        }
        guard time >= signer.notValidBefore else {
            throw .certificateNotYetValid(subject: "\(signer.subject)", notValidBefore: signer.notValidBefore)
        }
        guard time <= signer.notValidAfter else {
            throw .certificateExpired(subject: "\(signer.subject)", notValidAfter: signer.notValidAfter)
        }
        guard case .roots(let roots) = trust else { return }
        if let problem = await SigningChain.problem(leaf: signer, intermediates: chain, roots: roots, at: time) {
            throw .untrusted("the signing certificate (\(signer.subject)) does not chain to the given CA: \(problem)")
        }
    }
}

/// Why a feed did not verify.
public enum FeedVerificationError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The bytes are not a well-formed document of the XML a feed may hold.
    case notWellFormed(XMLSyntaxError)
    /// The document or its signature is malformed or does not match.
    case invalid(String)
    /// The signature is intact but its signer is not the one trusted.
    case untrusted(String)
    /// The signing certificate had expired at the time it was judged at.
    case certificateExpired(subject: String, notValidAfter: Date)
    /// The signing certificate was not yet valid at the time it was judged at.
    case certificateNotYetValid(subject: String, notValidBefore: Date)
    /// The feed's `expires` had passed at the time it was judged at: a replay of an old feed.
    case feedExpired(expires: String, at: Date)
    /// The signature carries a time stamp that does not verify against the time-stamping roots.
    case timeStamp(TimeStampError)

    /// One line, whatever the document held: control characters in echoed text (an attribute
    /// value such as `&#10;`, a certificate subject) are written as escapes such as `\n`.
    public var description: String {
        let line = switch self {
        case .notWellFormed(let error): "not a well-formed feed: \(error)"
        case .invalid(let reason): reason
        case .untrusted(let reason): reason
        case .certificateExpired(let subject, let date): "the signing certificate \(subject) expired on \(date.formatted(Self.day))"
        case .certificateNotYetValid(let subject, let date): "the signing certificate \(subject) is not valid before \(date.formatted(Self.day))"
        case .feedExpired(let expires, let time): "feed expired at \(expires) (now \(FeedTime.format(time)))"
        case .timeStamp(let error): "the signature's time stamp does not verify: \(error)"
        }
        return OneLineText.escaping(line)
    }

    private static let day = Date.ISO8601FormatStyle().year().month().day()
}
