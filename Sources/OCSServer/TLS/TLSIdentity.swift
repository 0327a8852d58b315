import Foundation
import NIOSSL
import SwiftASN1
import X509

/// The certificate chain and private key the server presents over TLS, read from PEM files and
/// checked before use, so a bad file stops start-up (or a reload) with its name and the problem.
public struct TLSIdentity: Sendable {
    public let certificateFile: String
    public let keyFile: String
    public let chainFile: String?
    /// The leaf certificate, for logs and health: subject and validity.
    public let leaf: Certificate
    let context: NIOSSLContext

    /// TLS 1.2 suites with forward secrecy and authenticated encryption only; TLS 1.3 suites
    /// are all of that kind. Exchange's EM service polls over TLS 1.2 with these.
    static let cipherSuites = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    /// Reads and checks the files: readable PEM, a key that matches the certificate, and a
    /// certificate valid at `now`.
    public static func load(certificateFile: String, keyFile: String, chainFile: String? = nil, now: Date = Date()) throws(TLSIdentityError) -> TLSIdentity {
        let certificates = try pemCertificates(certificateFile) + (chainFile.map { file throws(TLSIdentityError) in try pemCertificates(file) } ?? [])
        let leaf = certificates[0]
        let keyPEM = try read(keyFile)
        let key: Certificate.PrivateKey
        do {
            key = try Certificate.PrivateKey(pemEncoded: keyPEM)
        } catch {
            throw .malformed(file: keyFile, reason: "not a PEM private key (RSA or ECDSA, \"BEGIN PRIVATE KEY\")")
        }
        guard key.publicKey == leaf.publicKey else {
            throw .mismatch(keyFile: keyFile, certificateFile: certificateFile)
        }
        guard now >= leaf.notValidBefore else {
            throw .notValid(file: certificateFile, reason: "is not valid before \(leaf.notValidBefore.formatted(.iso8601))")
        }
        guard now <= leaf.notValidAfter else {
            throw .notValid(file: certificateFile, reason: "expired on \(leaf.notValidAfter.formatted(.iso8601)): renew it")
        }

        var configuration: TLSConfiguration
        do {
            configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try certificates.map { .certificate(try NIOSSLCertificate(bytes: try $0.serializeAsPEM().derBytes, format: .der)) },
                privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem))
            )
        } catch {
            throw .malformed(file: keyFile, reason: "TLS cannot use the key or certificate: \(error)")
        }
        configuration.minimumTLSVersion = .tlsv12
        configuration.maximumTLSVersion = .tlsv13
        configuration.cipherSuites = cipherSuites
        configuration.applicationProtocols = ["http/1.1"]
        do {
            return TLSIdentity(
                certificateFile: certificateFile, keyFile: keyFile, chainFile: chainFile,
                leaf: leaf, context: try NIOSSLContext(configuration: configuration)
            )
        } catch {
            throw .malformed(file: certificateFile, reason: "TLS cannot use the key and certificate together: \(error)")
        }
    }

    /// The same files read again, for a reload after they were replaced.
    public func reloaded(now: Date = Date()) throws(TLSIdentityError) -> TLSIdentity {
        try Self.load(certificateFile: certificateFile, keyFile: keyFile, chainFile: chainFile, now: now)
    }

    private static func pemCertificates(_ file: String) throws(TLSIdentityError) -> [Certificate] {
        let text = try read(file)
        let documents = (try? PEMDocument.parseMultiple(pemString: text)) ?? []
        let certificates = documents.filter { $0.discriminator == "CERTIFICATE" }.compactMap { try? Certificate(pemDocument: $0) }
        guard !certificates.isEmpty, certificates.count == documents.count else {
            throw .malformed(file: file, reason: "expected PEM certificates (\"BEGIN CERTIFICATE\" blocks)")
        }
        return certificates
    }

    private static func read(_ file: String) throws(TLSIdentityError) -> String {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw .unreadable(file: file, reason: FileManager.default.fileExists(atPath: file) ? "permission denied" : "no such file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .malformed(file: file, reason: "not PEM text")
        }
        return text
    }
}

/// Why the TLS certificate or key cannot be used; each names the file.
public enum TLSIdentityError: Error, Sendable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case malformed(file: String, reason: String)
    case mismatch(keyFile: String, certificateFile: String)
    case notValid(file: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let file, let reason): "\(file): cannot read the file: \(reason)"
        case .malformed(let file, let reason): "\(file): \(reason)"
        case .mismatch(let keyFile, let certificateFile): "\(keyFile): the key does not match the certificate in \(certificateFile)"
        case .notValid(let file, let reason): "\(file): the certificate \(reason)"
        }
    }
}
