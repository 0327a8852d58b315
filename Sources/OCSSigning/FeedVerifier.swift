import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Verifies a downloaded feed's enveloped signature against a pinned certificate or a trusted CA.
///
/// Trust comes only from what the caller pins: the key in the document's `KeyValue` is ignored,
/// and the signing certificate in `X509Data` must be the pinned one or chain to the pinned root.
public struct FeedVerifier: Sendable {
    /// What the signer must be.
    public enum Trust: Sendable {
        /// Exactly this signing certificate.
        case certificate(Certificate)
        /// Any code-signing certificate that chains (through the document's chain) to one of these roots.
        case roots([Certificate])
    }

    public let trust: Trust

    public init(trust: Trust) {
        self.trust = trust
    }

    /// A feed that verified: what it carries and who signed it.
    public struct VerifiedFeed: Sendable, Equatable {
        public let serial: String?
        public let issued: String?
        public let configIDs: [String]
        public let signer: String
    }

    public func verify(_ data: Data, now: Date = Date()) async throws(FeedVerificationError) -> VerifiedFeed {
        // EOCS has no DTD: refusing one keeps entity expansion and external loads out entirely.
        if data.range(of: Data("<!DOCTYPE".utf8)) != nil { throw .invalid("the document has a DOCTYPE, which a feed never has") }
        let document: XMLDocument
        do {
            document = try XMLDocument(data: data, options: [.nodePreserveWhitespace])
        } catch {
            throw .invalid("not well-formed XML: \(error.localizedDescription)")
        }
        guard let root = document.rootElement(), root.name == "EOCS", root.uri == nil || root.uri == "" else {
            throw .invalid("the root element is not EOCS")
        }
        let elements = (root.children ?? []).compactMap { $0 as? XMLElement }
        let signatures = elements.filter { $0.localName == "Signature" && $0.uri == XMLSignatureProfile.namespace }
        guard signatures.count == 1, let signature = signatures.first else {
            throw .invalid(signatures.isEmpty ? "the document is not signed" : "the document has \(signatures.count) signatures")
        }
        guard elements.last === signature else { throw .invalid("the signature is not the last element of EOCS") }
        guard elements.dropLast().allSatisfy({ $0.name == "Config" }) else {
            throw .invalid("EOCS holds an element other than Config before its signature")
        }

        let signedInfo = try child(signature, "SignedInfo")
        try expectAlgorithm(child(signedInfo, "CanonicalizationMethod"), XMLSignatureProfile.canonicalization)
        try expectAlgorithm(child(signedInfo, "SignatureMethod"), XMLSignatureProfile.signatureMethod)
        let references = children(signedInfo, "Reference")
        guard references.count == 1, let reference = references.first else { throw .invalid("SignedInfo must hold exactly one Reference") }
        guard Self.attribute("URI", of: reference) == "" else {
            throw .invalid("the Reference must cover the whole document (URI=\"\")")
        }
        let transforms = try children(child(reference, "Transforms"), "Transform").map { Self.attribute("Algorithm", of: $0) ?? "" }
        guard transforms == [XMLSignatureProfile.envelopedSignature, XMLSignatureProfile.canonicalization]
            || transforms == [XMLSignatureProfile.envelopedSignature]
        else { throw .invalid("unexpected transforms: \(transforms.joined(separator: ", "))") }
        try expectAlgorithm(child(reference, "DigestMethod"), XMLSignatureProfile.digestMethod)
        let expectedDigest = try base64(child(reference, "DigestValue"))

        // The digest: the canonical document without the signature (the enveloped transform).
        let canonicalDocument = CanonicalXML.serialize(root, excluding: signature)
        guard Data(SHA256.hash(data: Data(canonicalDocument.utf8))) == expectedDigest else {
            throw .invalid("the digest does not match: the document was changed after it was signed")
        }

        let certificates = try children(child(child(signature, "KeyInfo"), "X509Data"), "X509Certificate").map { element throws(FeedVerificationError) in
            do {
                return try Certificate(derEncoded: Array(try base64(element)))
            } catch let error as FeedVerificationError {
                throw error
            } catch {
                throw .invalid("an X509Certificate is not a valid certificate")
            }
        }
        guard let signer = certificates.first else { throw .invalid("the signature carries no X509Certificate") }
        try await checkTrust(signer, chain: Array(certificates.dropFirst()), now: now)

        guard let publicKey = _RSA.Signing.PublicKey(signer.publicKey) else {
            throw .invalid("the signing certificate's key is not RSA")
        }
        let signatureValue = try base64(child(signature, "SignatureValue"))
        let canonicalSignedInfo = CanonicalXML.serialize(signedInfo, inherited: CanonicalXML.inheritedNamespaces(of: signedInfo))
        guard publicKey.isValidSignature(
            _RSA.Signing.RSASignature(rawRepresentation: signatureValue), for: Data(canonicalSignedInfo.utf8), padding: .insecurePKCS1v1_5
        ) else {
            throw .invalid("the signature value does not verify with the signing certificate's key")
        }

        return VerifiedFeed(
            serial: Self.attribute("serial", of: root),
            issued: Self.attribute("issued", of: root),
            configIDs: elements.dropLast().map { Self.attribute("id", of: $0) ?? "" },
            signer: "\(signer.subject)"
        )
    }

    private func checkTrust(_ signer: Certificate, chain: [Certificate], now: Date) async throws(FeedVerificationError) {
        guard (try? signer.extensions.extendedKeyUsage)??.contains(.codeSigning) == true else {
            throw .untrusted("the signing certificate (\(signer.subject)) does not allow code signing")
        }
        switch trust {
        case .certificate(let pinned):
            guard pinned == signer else {
                throw .untrusted("the document is signed by \(signer.subject) (\(SigningIdentity.fingerprint(of: signer))), not by the pinned certificate (\(SigningIdentity.fingerprint(of: pinned)))")
            }
            guard now >= signer.notValidBefore, now <= signer.notValidAfter else {
                throw .untrusted("the signing certificate is not valid now (valid \(signer.notValidBefore.formatted(.iso8601)) to \(signer.notValidAfter.formatted(.iso8601)))")
            }
        case .roots(let roots):
            var verifier = Verifier(rootCertificates: CertificateStore(roots)) {
                RFC5280Policy()
            }
            switch await verifier.validate(leaf: signer, intermediates: CertificateStore(chain)) {
            case .validCertificate:
                return
            case .couldNotValidate(let failures):
                let reasons = failures.map { "\($0.policyFailureReason)" }.joined(separator: "; ")
                throw .untrusted("the signing certificate (\(signer.subject)) does not chain to the given CA\(reasons.isEmpty ? "" : ": \(reasons)")")
            }
        }
    }

    /// An attribute's value. `XMLElement.attribute(forName:)` finds nothing on elements in a
    /// namespace on Linux, so this looks through the attribute list itself.
    private static func attribute(_ name: String, of element: XMLElement) -> String? {
        element.attributes?.first { $0.name == name }?.stringValue
    }

    private func children(_ element: XMLElement, _ name: String) -> [XMLElement] {
        (element.children ?? []).compactMap { $0 as? XMLElement }.filter { $0.localName == name && $0.uri == XMLSignatureProfile.namespace }
    }

    private func child(_ element: XMLElement, _ name: String) throws(FeedVerificationError) -> XMLElement {
        let found = children(element, name)
        guard found.count == 1, let only = found.first else {
            throw .invalid("\(element.localName ?? "element") must hold exactly one \(name)")
        }
        return only
    }

    private func expectAlgorithm(_ element: XMLElement, _ algorithm: String) throws(FeedVerificationError) {
        let found = Self.attribute("Algorithm", of: element) ?? ""
        guard found == algorithm else {
            throw .invalid("\(element.localName ?? "element") is \(found.isEmpty ? "missing" : found), expected \(algorithm)")
        }
    }

    private func base64(_ element: XMLElement) throws(FeedVerificationError) -> Data {
        let text = (element.stringValue ?? "").filter { !$0.isWhitespace }
        guard let data = Data(base64Encoded: text) else { throw .invalid("\(element.localName ?? "element") is not base64") }
        return data
    }
}

/// Why a feed did not verify.
public enum FeedVerificationError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The document or its signature is malformed or does not match.
    case invalid(String)
    /// The signature is intact but its signer is not the one trusted.
    case untrusted(String)

    public var description: String {
        switch self {
        case .invalid(let reason): reason
        case .untrusted(let reason): reason
        }
    }
}
