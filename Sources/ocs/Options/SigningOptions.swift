import ArgumentParser
import Foundation
import Logging
import OCSSigning
import OCSStorage

/// `--signing-key`, `--signing-cert`, `--signing-chain`, `--rotate-signing-key`: who signs the feed.
struct SigningOptions: ParsableArguments {
    @Option(help: "RSA private key (PEM) that signs the feed (also OCS_SIGNING_KEY). Without it, a development key beside the database.")
    var signingKey: String?

    @Option(help: "The signing key's certificate (PEM), issued with the code-signing extended key usage (also OCS_SIGNING_CERT).")
    var signingCert: String?

    @Option(help: "Intermediate certificates (PEM) from the signing certificate up to its root (also OCS_SIGNING_CHAIN).")
    var signingChain: String?

    @Flag(help: "Sign with a certificate other than the one this database recorded. For serve, a key rotation, recorded and audited: every agent must pin the new certificate. For feed, a one-off document that records nothing.")
    var rotateSigningKey = false

    /// The signing settings from the command line, the environment or the configuration file.
    func resolve(_ settings: inout SettingsReader) throws -> SigningSettings {
        let resolved = SigningSettings(
            keyFile: settings.text(.signingKey, signingKey),
            certificateFile: settings.text(.signingCert, signingCert),
            chainFile: settings.text(.signingChain, signingChain),
            rotate: try settings.flag(.rotateSigningKey, rotateSigningKey)
        )
        if (resolved.keyFile == nil) != (resolved.certificateFile == nil) {
            throw CommandFailure("give the signing key and certificate together: \(Setting.signingKey.places), and \(Setting.signingCert.places)")
        }
        if resolved.chainFile != nil && resolved.keyFile == nil {
            throw CommandFailure("a signing chain needs the signing key and certificate")
        }
        return resolved
    }
}

/// Who signs the feed, resolved; and the check that keeps it the certificate hosts pin.
struct SigningSettings {
    let keyFile: String?
    let certificateFile: String?
    let chainFile: String?
    let rotate: Bool

    /// The identity that signs this database's feed. The server (`recording`) records the first
    /// one's fingerprint; another is refused, naming both, unless `rotate` is set, when the server
    /// records the change and audits it. A refusal creates no file: a development key is made only
    /// when the database has recorded none (or `rotate` is set).
    func identity(for database: any SQLDatabase, recording: Bool, logger: Logger) async throws -> SigningIdentity {
        let state = ServerState(database: database)
        let pinned = try state.pinnedSigningIdentity()
        let identity: SigningIdentity
        if let keyFile, let certificateFile {
            do {
                identity = try SigningIdentity.load(keyFile: keyFile, certificateFile: certificateFile, chainFile: chainFile)
            } catch {
                throw CommandFailure("cannot sign the feed: \(error.description)")
            }
            do {
                try await identity.checkChain()
            } catch {
                throw CommandFailure("cannot sign the feed: \(([certificateFile] + (chainFile.map { [$0] } ?? [])).joined(separator: " and ")): \(error.description)")
            }
        } else {
            guard database.engine == .sqlite else {
                // Replicas must sign alike, and a generated key would live on one machine only.
                throw CommandFailure("a PostgreSQL database needs \(Setting.signingKey.places) and \(Setting.signingCert.option): every replica signs the feed with the same identity")
            }
            // An SQLite database's name is its file's path.
            let folder = URL(fileURLWithPath: database.name).deletingLastPathComponent().path
            let certificate = (folder as NSString).appendingPathComponent(SigningIdentity.developmentCertificateName)
            if let pinned, !rotate, !FileManager.default.fileExists(atPath: certificate) {
                throw CommandFailure("""
                    this database's feed is signed by \(pinned.subject) (SHA-256 \(pinned.fingerprint)), and no signing key was given: \
                    give the signing key and certificate (\(Setting.signingKey.option) and \(Setting.signingCert.option), or \
                    \(Setting.signingKey.environmentVariable) and \(Setting.signingCert.environmentVariable)); \
                    \(Setting.rotateSigningKey.option) signs with a new development key instead
                    """)
            }
            identity = try Self.development(in: folder, logger: logger)
        }
        if let pinned, pinned.fingerprint != identity.fingerprint {
            guard rotate else {
                throw CommandFailure("""
                    the signing certificate \(identity.certificate.subject) (SHA-256 \(identity.fingerprint)) is not the one this \
                    database's feed is signed with, which every host pins: \(pinned.subject) (SHA-256 \(pinned.fingerprint)). \
                    Give that certificate's key, or \(Setting.rotateSigningKey.option) to rotate to the new one
                    """)
            }
            if recording {
                logger.warning("rotating the signing certificate: every agent must pin the new one", metadata: [
                    "from": "\(pinned.fingerprint)", "to": "\(identity.fingerprint)",
                ])
            }
        }
        if recording {
            try state.pinSigningIdentity(fingerprint: identity.fingerprint, subject: "\(identity.certificate.subject)", context: .localUser)
        }
        return identity
    }

    private static func development(in folder: String, logger: Logger) throws -> SigningIdentity {
        let development: (identity: SigningIdentity, origin: SigningIdentity.DevelopmentOrigin)
        do {
            development = try SigningIdentity.development(in: folder)
        } catch {
            throw CommandFailure("cannot use the development signing key in \(folder): \(error)")
        }
        let metadata: Logger.Metadata = [
            "certificate": "\(folder)/\(SigningIdentity.developmentCertificateName)",
            "sha256": "\(development.identity.fingerprint)",
        ]
        let verb: String
        switch development.origin {
        case .loaded: verb = "using"
        case .created: verb = "created"
        case .replacedHalfPair(let found):
            verb = "created"
            logger.warning("replaced a half-written development key pair (\(found)) with a new pair", metadata: metadata)
        }
        logger.warning(
            "\(verb) a development signing key: for development only; give --signing-key and --signing-cert in production",
            metadata: metadata
        )
        return development.identity
    }
}
