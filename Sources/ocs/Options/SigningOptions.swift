import ArgumentParser
import Foundation
import Logging
import OCSSigning

/// `--signing-key`, `--signing-cert`, `--signing-chain`: who signs the feed.
struct SigningOptions: ParsableArguments {
    @Option(help: "RSA private key (PEM) that signs the feed. Without it, a development key beside the database.")
    var signingKey: String?

    @Option(help: "The signing key's certificate (PEM), issued with the code-signing extended key usage.")
    var signingCert: String?

    @Option(help: "Intermediate certificates (PEM) from the signing certificate up to its root.")
    var signingChain: String?

    func validate() throws {
        if (signingKey == nil) != (signingCert == nil) {
            throw ValidationError("give --signing-key and --signing-cert together")
        }
        if signingChain != nil && signingKey == nil {
            throw ValidationError("--signing-chain needs --signing-key and --signing-cert")
        }
    }

    /// The configured identity, or the development one kept beside `databasePath`.
    func identity(databasePath: String, logger: Logger) throws -> SigningIdentity {
        if let signingKey, let signingCert {
            do {
                return try SigningIdentity.load(keyFile: signingKey, certificateFile: signingCert, chainFile: signingChain)
            } catch {
                throw CommandFailure("cannot sign the feed: \(error.description)")
            }
        }
        let folder = URL(fileURLWithPath: databasePath).deletingLastPathComponent().path
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
            logger.warning(
                "replaced a half-written development key pair (\(found)) with a new pair",
                metadata: metadata
            )
        }
        logger.warning(
            "\(verb) a development signing key: for development only; give --signing-key and --signing-cert in production",
            metadata: metadata
        )
        return development.identity
    }
}
