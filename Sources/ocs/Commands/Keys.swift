import ArgumentParser
import Foundation
import OCSSigning

/// `ocs keys`: signing keys for the feed.
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create feed signing keys.",
        subcommands: [KeysInit.self]
    )
}

/// `ocs keys init`: a new RSA-3072 key and self-signed code-signing certificate.
struct KeysInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create an RSA-3072 key and a self-signed code-signing certificate, readable by the owner only."
    )

    @Option(help: "Folder for signing-key.pem and signing-cert.pem; created if missing.")
    var dir = "keys"

    @Option(help: "Common name of the certificate's subject.")
    var commonName = "ocs feed signing"

    @Option(help: "Days the certificate is valid.")
    var days = 825

    func validate() throws {
        guard (1...3650).contains(days) else { throw ValidationError("--days must be between 1 and 3650") }
    }

    func run() throws {
        let keyFile = URL(fileURLWithPath: dir).appendingPathComponent("signing-key.pem").path
        let certificateFile = URL(fileURLWithPath: dir).appendingPathComponent("signing-cert.pem").path
        for file in [keyFile, certificateFile] where FileManager.default.fileExists(atPath: file) {
            throw CommandFailure("\(file) exists: move it away or choose another --dir; keys are never replaced")
        }
        let identity = try SigningIdentity.generate(commonName: commonName, validForDays: days)
        do {
            try identity.write(keyFile: keyFile, certificateFile: certificateFile)
        } catch {
            throw CommandFailure(error.description)
        }
        print("""
            key:         \(keyFile)
            certificate: \(certificateFile)
            sha256:      \(identity.fingerprint)
            serve with:  ocs serve --signing-key \(keyFile) --signing-cert \(certificateFile)
            """)
    }
}
