import Crypto
import Foundation
import OCSDomain
import X509
import _CryptoExtras

/// A file one ocs instance signs for another: a bundle of feeds (central to disconnected site) or
/// a site's check-ins (site to central). JSON holding the kind, the payload's bytes (base64), the
/// signing certificate (DER, base64) and an RSA PKCS#1 v1.5 SHA-256 signature over the kind and the
/// payload, so a file of one kind never passes for the other.
///
/// The receiver opens it only against a certificate it pins: the one inside must be that one, and
/// is never trusted by itself. The payload is handed out only once the signature verified, so
/// nothing unsigned is ever read beyond the envelope's four fields.
public enum SignedEnvelope {
    /// What a file carries, named inside it and covered by its signature.
    public enum Kind: String, Sendable, Codable {
        case bundle = "ocs-bundle"
        case checkIns = "ocs-check-ins"

        /// For messages: `a bundle`, `a check-in file`.
        public var described: String {
            switch self {
            case .bundle: "a bundle"
            case .checkIns: "a check-in file"
            }
        }
    }

    /// The largest file read; anything larger is refused unread.
    public static let maximumBytes = 64 << 20

    /// The envelope's format version.
    static let version = 1

    private struct Wire: Codable {
        let kind: String
        let version: Int
        let certificate: String
        let signature: String
        let payload: String
    }

    /// `payload` sealed as a `kind` file signed by `identity`.
    public static func seal(_ payload: [UInt8], kind: Kind, by identity: SigningIdentity) throws -> [UInt8] {
        let signature = try identity.privateKey.signature(for: signedBytes(kind: kind, payload: payload), padding: .insecurePKCS1v1_5)
        let wire = Wire(
            kind: kind.rawValue, version: version, certificate: Data(SigningIdentity.der(identity.certificate)).base64EncodedString(),
            signature: signature.rawRepresentation.base64EncodedString(), payload: Data(payload).base64EncodedString()
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(wire)) + [UInt8(ascii: "\n")]
    }

    /// The certificate a `kind` file says signed it, read without verifying anything: for a
    /// receiver that has pinned none yet to name it. Never a reason to trust the file.
    public static func claimedSigner(of file: Data, kind: Kind) throws(SignedEnvelopeRefusal) -> Certificate {
        try certificate(of: read(file, kind: kind))
    }

    /// The payload of a `kind` file, once it proved signed by `pinned` (the same certificate,
    /// valid at `time`, its signature verifying); refused otherwise, with what was wrong. A nil
    /// `time` judges no validity: for a file kept after it was opened at its import.
    public static func open(_ file: Data, kind: Kind, pinned: Certificate, at time: Date?) throws(SignedEnvelopeRefusal) -> [UInt8] {
        let wire = try read(file, kind: kind)
        let signer = try certificate(of: wire)
        guard signer == pinned else {
            // The subject is the file's claim, not yet verified: escaped and bounded before it is shown.
            throw .unpinnedSigner(
                signer: "\(OneLineText.escaping("\(signer.subject)", maximumBytes: 200)) (SHA-256 \(SigningIdentity.fingerprint(of: signer)))",
                pinned: "\(pinned.subject) (SHA-256 \(SigningIdentity.fingerprint(of: pinned)))"
            )
        }
        if let time, time < signer.notValidBefore || time > signer.notValidAfter {
            throw .signerNotValid("\(signer.subject) is valid from \(signer.notValidBefore.formatted(.iso8601)) to \(signer.notValidAfter.formatted(.iso8601))")
        }
        guard let key = _RSA.Signing.PublicKey(signer.publicKey) else { throw .malformed("the signing certificate's key is not RSA") }
        guard let signature = Data(base64Encoded: wire.signature), let payload = Data(base64Encoded: wire.payload) else {
            throw .malformed("the signature or the payload is not base64")
        }
        let bytes = Array(payload)
        guard key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: signedBytes(kind: kind, payload: bytes), padding: .insecurePKCS1v1_5) else {
            throw .badSignature
        }
        return bytes
    }

    /// The envelope's fields, of a file of `kind` in this format; nothing is verified yet.
    private static func read(_ file: Data, kind: Kind) throws(SignedEnvelopeRefusal) -> Wire {
        guard file.count <= maximumBytes else { throw .tooLarge(maximum: maximumBytes) }
        let wire: Wire
        do {
            wire = try JSONDecoder().decode(Wire.self, from: file)
        } catch {
            throw .malformed("not an ocs signed file: expected JSON with kind, version, certificate, signature and payload")
        }
        guard wire.kind == kind.rawValue else {
            throw .wrongKind(expected: kind, found: Kind(rawValue: wire.kind)?.described ?? "'\(OneLineText.escaping(wire.kind, maximumBytes: 40))'")
        }
        guard wire.version == version else { throw .malformed("format version \(wire.version) is not \(version): made by another ocs version") }
        return wire
    }

    private static func certificate(of wire: Wire) throws(SignedEnvelopeRefusal) -> Certificate {
        guard let der = Data(base64Encoded: wire.certificate), let certificate = try? Certificate(derEncoded: Array(der)) else {
            throw .malformed("the signing certificate is not a base64 DER certificate")
        }
        return certificate
    }

    /// What the signature covers: the kind, a line break, the payload.
    private static func signedBytes(kind: Kind, payload: [UInt8]) -> Data {
        Data(kind.rawValue.utf8) + Data([UInt8(ascii: "\n")]) + Data(payload)
    }
}

/// Why a signed file was refused; nothing in it was read beyond its envelope.
public enum SignedEnvelopeRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    case tooLarge(maximum: Int)
    case malformed(String)
    case wrongKind(expected: SignedEnvelope.Kind, found: String)
    case unpinnedSigner(signer: String, pinned: String)
    case signerNotValid(String)
    case badSignature

    public var description: String {
        switch self {
        case .tooLarge(let maximum): "larger than \(maximum) bytes"
        case .malformed(let reason): reason
        case .wrongKind(let expected, let found): "\(found), not \(expected.described)"
        case .unpinnedSigner(let signer, let pinned): "signed by \(signer), not by the pinned \(pinned)"
        case .signerNotValid(let validity): "the signing certificate is not valid now: \(validity)"
        case .badSignature: "the signature does not verify: the file was changed after it was signed"
        }
    }
}
