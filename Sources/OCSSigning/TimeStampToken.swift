import Crypto
import Foundation
import OCSDomain
import SwiftASN1
import X509

/// An RFC 3161 time-stamp token: a time-stamping authority's signed statement that it saw a hash
/// at a time. Microsoft's feed carries one over its `SignatureValue` (the `CounterSignature` of
/// `Object Id="ts-countersig"`), so the feed can be judged at the time it was stamped after its
/// signing certificate has expired, as Windows judges time-stamped code.
///
/// The token is a CMS SignedData (RFC 5652) read as BER, Microsoft's having indefinite lengths;
/// `verify` checks it as RFC 3161 and Windows require: the authority's signature over the signed
/// attributes, the attributes' content type and message digest, the signing-certificate attribute
/// when present, the authority's time-stamping usage and chain at the stamped time, and that the
/// imprint is the hash of the bytes given. Revocation is not checked, as for the feed's signer.
public struct TimeStampToken: Sendable {
    /// The largest token read; Microsoft's is under 5 KB.
    public static let maximumBytes = 64 * 1024

    /// When the authority says it stamped (TSTInfo's genTime); not yet verified.
    public let time: Date
    /// The X.509 certificates the token carries; attribute certificates are skipped.
    public let certificates: [Certificate]

    let signedData: TimeStampSignedData
    let tstInfo: TSTInfo

    /// Reads a token from its BER (or DER) bytes, refusing one larger than `maximumBytes`, with
    /// anything after it, or nested beyond swift-asn1's depth limit (50).
    public init(berEncoded bytes: some DataProtocol) throws(TimeStampError) {
        guard bytes.count <= Self.maximumBytes else { throw .tooLarge(bytes: bytes.count) }
        guard !bytes.isEmpty else { throw .malformed("it is empty") }
        signedData = try Self.reading("the SignedData") { try TimeStampSignedData(berEncoded: BER.parse(Array(bytes))) }
        let content = signedData.content
        tstInfo = try Self.reading("the TSTInfo") { try TSTInfo(derEncoded: DER.parse(content)) }
        time = tstInfo.time
        certificates = signedData.certificates
    }

    /// A token that verified: when, and by whom.
    public struct Verified: Sendable, Equatable {
        /// When the authority stamped (TSTInfo's genTime).
        public let time: Date
        /// The authority's signing certificate's subject.
        public let signer: String
        public let signerCertificate: Certificate
    }

    /// Verifies that this token is an intact stamp over `stamped` by an authority chaining to one
    /// of `roots` at the stamped time. `certificates`: more certificates to find the authority and
    /// its chain among, besides the token's own (the feed's `Object/X509Data`).
    public func verify(stamping stamped: some DataProtocol, roots: [Certificate], certificates extra: [Certificate] = []) async throws(TimeStampError) -> Verified {
        let signer = try checkSignature(among: certificates + extra)
        let subject = "\(signer.subject)"
        guard (try? signer.extensions.extendedKeyUsage)??.contains(.timeStamping) == true else {
            throw .notTimeStamping(signer: subject)
        }
        try checkImprint(stamped)
        let intermediates = (certificates + extra).filter { $0 != signer }
        if let problem = await SigningChain.problem(leaf: signer, intermediates: intermediates, roots: roots, at: time, usage: .timeStamping) {
            throw .untrustedAuthority(signer: subject, reason: problem)
        }
        return Verified(time: time, signer: subject, signerCertificate: signer)
    }

    /// The signer's certificate, after checking the SignerInfo: its digest and signature algorithms,
    /// the content type and message digest over the TSTInfo, the signature over the DER of the
    /// signed attributes, and the signing-certificate attribute when present.
    private func checkSignature(among candidates: [Certificate]) throws(TimeStampError) -> Certificate {
        let info = signedData.signer
        guard let digest = StampDigest(info.digestAlgorithm) else { throw .unsupportedAlgorithm("the digest algorithm \(info.digestAlgorithm)") }
        guard signedData.digestAlgorithms.contains(info.digestAlgorithm) else {
            throw .malformed("the signer's digest algorithm \(info.digestAlgorithm) is not among the SignedData's")
        }
        guard let signatureAlgorithm = digest.signatureAlgorithm(info.signatureAlgorithm) else {
            throw .unsupportedAlgorithm("the signature algorithm \(info.signatureAlgorithm) with \(digest.rawValue)")
        }
        guard let signer = candidates.first(where: info.identifier.identifies) else {
            throw .signerNotFound("\(info.identifier)")
        }

        let (contentType, messageDigest) = try Self.reading("the signed attributes") {
            (try info.attribute(TimeStampOID.contentType).map { try ASN1ObjectIdentifier(asn1Any: $0) },
             try info.attribute(TimeStampOID.messageDigest).map { Array(try ASN1OctetString(asn1Any: $0).bytes) })
        }
        guard contentType == TimeStampOID.tstInfo else {
            throw .malformed("the signed content type is \(contentType.map { "\($0)" } ?? "missing"), not id-ct-TSTInfo")
        }
        guard let messageDigest else { throw .malformed("the signed attributes hold no message digest") }
        guard messageDigest == digest.hash(signedData.content) else { throw .contentAltered }
        guard signer.publicKey.isValidSignature(info.signature, for: info.signedAttributesDER, signatureAlgorithm: signatureAlgorithm) else {
            throw .signatureInvalid(signer: "\(signer.subject)")
        }
        try checkSigningCertificateAttribute(names: signer)
        return signer
    }

    /// RFC 3161 requires a signing-certificate attribute (ESSCertID or ESSCertIDv2) naming the
    /// authority's certificate by hash, so a certificate with the same key cannot stand in for it.
    /// Checked when present; its first entry is the signer's.
    private func checkSigningCertificateAttribute(names signer: Certificate) throws(TimeStampError) {
        let info = signedData.signer
        for (type, version2) in [(TimeStampOID.signingCertificate, false), (TimeStampOID.signingCertificateV2, true)] {
            let identifier = try Self.reading("the signing-certificate attribute") {
                try info.attribute(type).map { try ESSCertificateID.first(in: $0, version2: version2) }
            }
            guard let identifier else { continue }
            let der = SigningIdentity.der(signer)
            let hash: [UInt8]
            switch identifier.hashAlgorithm {
            case nil:
                // ESSCertID is defined with SHA-1; here it only names a certificate whose key the
                // signature has already been checked with.
                hash = version2 ? StampDigest.sha256.hash(der) : Array(Insecure.SHA1.hash(data: der))
            case let algorithm? where algorithm.oid == TimeStampOID.sha1:
                hash = Array(Insecure.SHA1.hash(data: der))
            case let algorithm?:
                guard let digest = StampDigest(algorithm) else { throw .unsupportedAlgorithm("the signing-certificate hash \(algorithm)") }
                hash = digest.hash(der)
            }
            let serialMatches = identifier.serialNumber.map { $0 == signer.serialNumber } ?? true
            let issuerMatches = identifier.issuerNames.map { $0.contains(.directoryName(signer.issuer)) } ?? true
            guard hash == identifier.certificateHash, serialMatches, issuerMatches else {
                throw .signingCertificateMismatch(signer: "\(signer.subject)")
            }
        }
    }

    /// The imprint must be the hash of `stamped`: a stamp over anything else says nothing of it.
    private func checkImprint(_ stamped: some DataProtocol) throws(TimeStampError) {
        let imprint = tstInfo.imprint
        guard let digest = StampDigest(imprint.algorithm) else { throw .unsupportedAlgorithm("the imprint's hash \(imprint.algorithm)") }
        let expected = digest.hash(stamped)
        guard imprint.hashedMessage == expected else {
            throw .stampsOtherData(algorithm: digest.rawValue, stamped: Self.hex(imprint.hashedMessage), expected: Self.hex(expected))
        }
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// Runs `body`, turning a swift-asn1 or swift-certificates error into `.malformed` naming `part`.
    private static func reading<T>(_ part: String, _ body: () throws -> T) throws(TimeStampError) -> T {
        do {
            return try body()
        } catch let error as TimeStampError {
            throw error
        } catch let error as ASN1Error {
            throw .malformed("\(part): \(words(error))")
        } catch {
            throw .malformed("\(part): \(error)")
        }
    }

    /// swift-asn1's description without its source location: `truncatedASN1Field`, or
    /// `invalidASN1Object: Trailing unparsed data is present`.
    private static func words(_ error: ASN1Error) -> String {
        var text = "\(error)"
        if text.hasPrefix("ASN1Error.") { text.removeFirst("ASN1Error.".count) }
        if let space = text.lastIndex(of: " "), text[space...].contains(".swift:") { text = String(text[..<space]) }
        while text.hasSuffix(":") || text.hasSuffix(" ") { text.removeLast() }
        return text
    }
}

/// Why a time-stamp token did not verify.
public enum TimeStampError: Error, Sendable, CustomStringConvertible, Equatable {
    /// Larger than `TimeStampToken.maximumBytes`.
    case tooLarge(bytes: Int)
    /// Not a time-stamp token: bad BER, a structure RFC 5652 or RFC 3161 does not allow.
    case malformed(String)
    /// An algorithm not checked here (SHA-1, RSA-PSS, ...), named.
    case unsupportedAlgorithm(String)
    /// No certificate in the token or beside it matches the SignerInfo's identifier.
    case signerNotFound(String)
    /// The TSTInfo does not hash to the message digest the authority signed.
    case contentAltered
    /// The signature over the signed attributes does not verify with the signer's key.
    case signatureInvalid(signer: String)
    /// The signing-certificate attribute names another certificate.
    case signingCertificateMismatch(signer: String)
    /// The signer's certificate lacks the time-stamping extended key usage.
    case notTimeStamping(signer: String)
    /// The signer does not chain to a given time-stamping root at the stamped time.
    case untrustedAuthority(signer: String, reason: String)
    /// The imprint is the hash of something else (hex digests).
    case stampsOtherData(algorithm: String, stamped: String, expected: String)

    /// One line, control characters in echoed subjects written as escapes.
    public var description: String {
        let line = switch self {
        case .tooLarge(let bytes): "the time-stamp token is \(bytes) bytes, more than the \(TimeStampToken.maximumBytes) allowed"
        case .malformed(let reason): "the time-stamp token is malformed: \(reason)"
        case .unsupportedAlgorithm(let what): "the time-stamp token uses \(what), which is not supported"
        case .signerNotFound(let identifier): "the time-stamp token's signing certificate (\(identifier)) is neither in the token nor beside it"
        case .contentAltered: "the time-stamp token's TSTInfo does not match the digest its authority signed: it was changed"
        case .signatureInvalid(let signer): "the time-stamp token's signature does not verify with the key of \(signer)"
        case .signingCertificateMismatch(let signer): "the time-stamp token's signing-certificate attribute does not name \(signer)"
        case .notTimeStamping(let signer): "the time-stamping certificate \(signer) does not allow time stamping"
        case .untrustedAuthority(let signer, let reason): "the time-stamping authority \(signer) does not chain to the given time-stamping CA: \(reason)"
        case .stampsOtherData(let algorithm, let stamped, let expected):
            "the time stamp is over other data (\(algorithm) \(stamped.prefix(16))...), not this signature (\(expected.prefix(16))...)"
        }
        return OneLineText.escaping(line)
    }
}
