import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// The RSA key, certificate and chain that sign every feed.
public struct SigningIdentity: Sendable {
    public let privateKey: _RSA.Signing.PrivateKey
    public let certificate: Certificate
    /// Intermediate certificates, issuer of `certificate` first.
    public let chain: [Certificate]

    /// Smallest RSA key accepted; the real OCS signs with RSA-2048.
    public static let minimumKeySize = 2048

    /// Checks that the key belongs to the certificate, that the certificate is valid at `now` and
    /// allows code signing, as Exchange's EM service requires of its feed signer.
    public init(privateKey: _RSA.Signing.PrivateKey, certificate: Certificate, chain: [Certificate], now: Date = Date()) throws(SigningIdentityError) {
        guard privateKey.keySizeInBits >= Self.minimumKeySize else {
            throw .unusable("the key is RSA-\(privateKey.keySizeInBits); use RSA-\(Self.minimumKeySize) or larger")
        }
        guard Certificate.PublicKey(privateKey.publicKey) == certificate.publicKey else {
            throw .unusable("the key does not match the certificate (\(certificate.subject)): give the key the certificate was issued for")
        }
        guard now >= certificate.notValidBefore else {
            throw .unusable("the certificate (\(certificate.subject)) is not valid before \(certificate.notValidBefore.formatted(.iso8601))")
        }
        guard now <= certificate.notValidAfter else {
            throw .unusable("the certificate (\(certificate.subject)) expired on \(certificate.notValidAfter.formatted(.iso8601)): renew it")
        }
        let usage = try? certificate.extensions.extendedKeyUsage
        guard usage?.contains(.codeSigning) == true else {
            throw .unusable("the certificate (\(certificate.subject)) lacks the code-signing extended key usage that Exchange checks")
        }
        self.privateKey = privateKey
        self.certificate = certificate
        self.chain = chain
    }

    /// Checks that the certificate chains through `chain` as agents trusting the chain's top with
    /// `--ca` judge it (`SigningChain`: signatures, validity at `now`, every issuer a CA, the
    /// issuers' extended key usages). The last certificate is taken as the root, whether the chain
    /// ends at the root or below it. Without a chain (a self-signed certificate, which agents pin
    /// with `--cert`) there is nothing to check.
    public func checkChain(now: Date = Date()) async throws(SigningIdentityError) {
        guard let top = chain.last else { return }
        if let problem = await SigningChain.problem(leaf: certificate, intermediates: Array(chain.dropLast()), roots: [top], at: now) {
            throw .unusable("the certificate (\(certificate.subject)) and its chain are not one agents trusting \(top.subject) accept: \(problem)")
        }
    }

    /// The signing certificate then its chain, DER-encoded, as `X509Data` carries them.
    public var certificateChainDER: [[UInt8]] {
        ([certificate] + chain).map(Self.der)
    }

    /// SHA-256 of the signing certificate's DER, as colon-separated hex.
    public var fingerprint: String {
        Self.fingerprint(of: certificate)
    }

    public static func fingerprint(of certificate: Certificate) -> String {
        SHA256.hash(data: der(certificate)).map { String(format: "%02X", $0) }.joined(separator: ":")
    }

    public static func der(_ certificate: Certificate) -> [UInt8] {
        var serializer = DER.Serializer()
        // Serializing a certificate that was parsed or built by swift-certificates cannot fail.
        try! serializer.serialize(certificate)
        return serializer.serializedBytes
    }
}

/// Why a key, certificate or chain cannot sign; names the file when one is involved.
public enum SigningIdentityError: Error, Sendable, CustomStringConvertible, Equatable {
    case unreadable(file: String, reason: String)
    case malformed(file: String, reason: String)
    case unusable(String)
    case cannotWrite(file: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let file, let reason): "\(file): cannot read: \(reason)"
        case .malformed(let file, let reason): "\(file): \(reason)"
        case .unusable(let reason): reason
        case .cannotWrite(let file, let reason): "\(file): cannot write: \(reason)"
        }
    }
}
