import Foundation
import SwiftASN1
import X509
import _CryptoExtras

extension SigningIdentity {
    /// Loads an organization's key, its certificate and optionally the chain up to its root.
    /// A certificate file holding several certificates is the certificate followed by its chain.
    public static func load(keyFile: String, certificateFile: String, chainFile: String? = nil, now: Date = Date()) throws(SigningIdentityError) -> SigningIdentity {
        let keyPEM = try read(keyFile)
        let key: _RSA.Signing.PrivateKey
        do {
            key = try _RSA.Signing.PrivateKey(pemRepresentation: keyPEM)
        } catch {
            throw .malformed(file: keyFile, reason: "not an RSA private key in PEM form (\"BEGIN PRIVATE KEY\" or \"BEGIN RSA PRIVATE KEY\")")
        }
        let certificates = try certificates(in: certificateFile)
        let chain = try chainFile.map { file throws(SigningIdentityError) in try Self.certificates(in: file) } ?? []
        do {
            return try SigningIdentity(privateKey: key, certificate: certificates[0], chain: Array(certificates.dropFirst()) + chain, now: now)
        } catch {
            throw .unusable("\(keyFile) and \(certificateFile): \(error.description)")
        }
    }

    /// A new RSA-3072 key and a self-signed code-signing certificate for it.
    public static func generate(commonName: String, validForDays days: Int = 825, now: Date = Date()) throws -> SigningIdentity {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits3072)
        let name = try DistinguishedName {
            CommonName(commonName)
            OrganizationName("ocs")
        }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(TimeInterval(days) * 86_400),
            issuer: name,
            subject: name,
            signatureAlgorithm: .sha256WithRSAEncryption,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.codeSigning])
            },
            issuerPrivateKey: Certificate.PrivateKey(key)
        )
        return try SigningIdentity(privateKey: key, certificate: certificate, chain: [], now: now)
    }

    /// Writes the key and certificate (with chain) as PEM files readable by the owner only.
    /// Refuses to replace existing files.
    public func write(keyFile: String, certificateFile: String) throws(SigningIdentityError) {
        let certificates = ([certificate] + chain).map { certificate in
            (try? certificate.serializeAsPEM().pemString) ?? ""
        }.joined(separator: "\n")
        try Self.create(keyFile, contents: privateKey.pkcs8PEMRepresentation + "\n")
        try Self.create(certificateFile, contents: certificates + "\n")
    }

    /// The development identity kept in `folder`: loaded when present, else created there.
    public static func development(in folder: String, now: Date = Date()) throws -> (identity: SigningIdentity, created: Bool) {
        let keyFile = (folder as NSString).appendingPathComponent(developmentKeyName)
        let certificateFile = (folder as NSString).appendingPathComponent(developmentCertificateName)
        if FileManager.default.fileExists(atPath: keyFile) || FileManager.default.fileExists(atPath: certificateFile) {
            return (try load(keyFile: keyFile, certificateFile: certificateFile, now: now), false)
        }
        let identity = try generate(commonName: "ocs development feed signing", now: now)
        try identity.write(keyFile: keyFile, certificateFile: certificateFile)
        return (identity, true)
    }

    public static let developmentKeyName = "dev-signing-key.pem"
    public static let developmentCertificateName = "dev-signing-cert.pem"

    /// Every certificate in a PEM file, in file order; at least one.
    public static func certificates(in file: String) throws(SigningIdentityError) -> [Certificate] {
        let text = try read(file)
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: text)
        } catch {
            throw .malformed(file: file, reason: notCertificates)
        }
        var certificates: [Certificate] = []
        for (index, document) in documents.enumerated() {
            do {
                certificates.append(try Certificate(pemDocument: document))
            } catch {
                throw .malformed(file: file, reason: "PEM block \(index + 1) is not a valid X.509 certificate")
            }
        }
        guard !certificates.isEmpty else {
            throw .malformed(file: file, reason: notCertificates)
        }
        return certificates
    }

    private static let notCertificates = "holds no PEM certificate (expected \"BEGIN CERTIFICATE\" blocks)"

    private static func read(_ file: String) throws(SigningIdentityError) -> String {
        do {
            return try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            let reason = FileManager.default.fileExists(atPath: file) ? "not readable UTF-8 text" : "no such file"
            throw .unreadable(file: file, reason: reason)
        }
    }

    private static func create(_ file: String, contents: String) throws(SigningIdentityError) {
        let folder = (file as NSString).deletingLastPathComponent
        do {
            if !folder.isEmpty {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            }
        } catch {
            throw .cannotWrite(file: file, reason: error.localizedDescription)
        }
        // O_EXCL: never replace a key; 0600 from the first byte, not chmod after the fact.
        let descriptor = open(file, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            throw .cannotWrite(file: file, reason: errno == EEXIST ? "the file exists; move it away first" : String(cString: strerror(errno)))
        }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        do {
            try handle.write(contentsOf: Data(contents.utf8))
            try handle.synchronize()
        } catch {
            throw .cannotWrite(file: file, reason: error.localizedDescription)
        }
    }
}
