import Foundation
import X509
import _CryptoExtras

/// A small certificate authority for tests: a root, an intermediate and leaves they issue.
struct TestPKI {
    let rootKey: _RSA.Signing.PrivateKey
    let root: Certificate
    let intermediateKey: _RSA.Signing.PrivateKey
    let intermediate: Certificate

    /// `rootUsages` and `intermediateUsages`: an extended key usage extension on that authority
    /// (none by default). `intermediateIsAuthority: false` makes an intermediate that is not a CA.
    init(name: String = "Test", rootUsages: [ExtendedKeyUsage.Usage]? = nil, intermediateUsages: [ExtendedKeyUsage.Usage]? = nil,
         intermediateIsAuthority: Bool = true) throws {
        rootKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        root = try Self.issue(name: "\(name) Root", key: rootKey.publicKey, issuer: nil, issuerKey: rootKey, isAuthority: true, authorityUsages: rootUsages)
        intermediateKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        intermediate = try Self.issue(name: "\(name) Intermediate", key: intermediateKey.publicKey, issuer: root, issuerKey: rootKey,
                                      isAuthority: intermediateIsAuthority, codeSigning: true, authorityUsages: intermediateUsages)
    }

    /// A leaf issued by the intermediate, with code signing unless told otherwise.
    func leaf(key: _RSA.Signing.PrivateKey, codeSigning: Bool = true, notBefore: Date = Date().addingTimeInterval(-3600), notAfter: Date = Date().addingTimeInterval(86_400)) throws -> Certificate {
        try Self.issue(name: "Feed Signer", key: key.publicKey, issuer: intermediate, issuerKey: intermediateKey, isAuthority: false,
                       codeSigning: codeSigning, notBefore: notBefore, notAfter: notAfter)
    }

    static func issue(
        name: String, key: _RSA.Signing.PublicKey, issuer: Certificate?, issuerKey: _RSA.Signing.PrivateKey, isAuthority: Bool,
        codeSigning: Bool = false, authorityUsages: [ExtendedKeyUsage.Usage]? = nil,
        notBefore: Date = Date().addingTimeInterval(-3600), notAfter: Date = Date().addingTimeInterval(86_400)
    ) throws -> Certificate {
        let subject = try DistinguishedName { CommonName(name) }
        return try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key),
            notValidBefore: notBefore, notValidAfter: notAfter,
            issuer: issuer?.subject ?? subject, subject: subject,
            signatureAlgorithm: .sha256WithRSAEncryption,
            extensions: try Certificate.Extensions {
                if isAuthority {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                    if let authorityUsages { try ExtendedKeyUsage(authorityUsages) }
                } else {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    if codeSigning { try ExtendedKeyUsage([.codeSigning]) } else { try ExtendedKeyUsage([.serverAuth]) }
                }
            },
            issuerPrivateKey: .init(issuerKey)
        )
    }
}
