import Crypto
import Foundation
import OCSDomain
import _CryptoExtras

/// Produces the enveloped `Signature` element for a document, in the feed's signature profile.
///
/// Everything it writes is in Canonical XML form already (no whitespace between elements, no
/// empty-element tags), so the `SignedInfo` it signs is exactly what a verifier canonicalizes.
public struct FeedSigner: Sendable {
    public let identity: SigningIdentity
    private let keyInfo: String

    public init(identity: SigningIdentity) throws {
        self.identity = identity
        let primitives = try identity.privateKey.publicKey.getKeyPrimitives()
        let certificates = identity.certificateChainDER.map { "<X509Certificate>\(Data($0).base64EncodedString())</X509Certificate>" }
        keyInfo = "<KeyInfo><KeyValue><RSAKeyValue>"
            + "<Modulus>\(primitives.modulus.base64EncodedString())</Modulus>"
            + "<Exponent>\(primitives.publicExponent.base64EncodedString())</Exponent>"
            + "</RSAKeyValue></KeyValue><X509Data>\(certificates.joined())</X509Data></KeyInfo>"
    }

    /// The `Signature` element over `digestInput`, the canonical document without its signature.
    public func signatureElement(digestInput: some DataProtocol) throws -> String {
        let digest = Data(SHA256.hash(data: digestInput)).base64EncodedString()
        let signedInfo = Self.signedInfo(digest: digest)
        // Canonicalized on its own, SignedInfo carries the namespace it inherits from Signature.
        let canonicalSignedInfo = "<SignedInfo xmlns=\"\(XMLSignatureProfile.namespace)\">" + signedInfo + "</SignedInfo>"
        let signature = try identity.privateKey.signature(for: Data(canonicalSignedInfo.utf8), padding: .insecurePKCS1v1_5)
        return "<Signature xmlns=\"\(XMLSignatureProfile.namespace)\">"
            + "<SignedInfo>" + signedInfo + "</SignedInfo>"
            + "<SignatureValue>\(signature.rawRepresentation.base64EncodedString())</SignatureValue>"
            + keyInfo
            + "</Signature>"
    }

    /// `document` signed: the exact bytes served.
    public func sign(_ document: EOCSDocument) throws -> [UInt8] {
        let signature = try signatureElement(digestInput: Data(document.digestInput.utf8))
        return Array(document.signed(with: signature).utf8)
    }

    /// The content of `SignedInfo` for a document whose SHA-256 digest is `digest` (base64).
    private static func signedInfo(digest: String) -> String {
        "<CanonicalizationMethod Algorithm=\"\(XMLSignatureProfile.canonicalization)\"></CanonicalizationMethod>"
            + "<SignatureMethod Algorithm=\"\(XMLSignatureProfile.signatureMethod)\"></SignatureMethod>"
            + "<Reference URI=\"\"><Transforms>"
            + "<Transform Algorithm=\"\(XMLSignatureProfile.envelopedSignature)\"></Transform>"
            + "<Transform Algorithm=\"\(XMLSignatureProfile.canonicalization)\"></Transform>"
            + "</Transforms>"
            + "<DigestMethod Algorithm=\"\(XMLSignatureProfile.digestMethod)\"></DigestMethod>"
            + "<DigestValue>\(digest)</DigestValue>"
            + "</Reference>"
    }
}
