import ArgumentParser
import Foundation
import OCSAgent
import OCSSigning

/// `ocs agent script`: EOMT-style PowerShell scripts from a verified feed, for sites that apply mitigations by hand.
struct AgentScript: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "script",
        abstract: "Verify a downloaded feed and write Apply-Mitigations.ps1 and Remove-Mitigations.ps1 for a host.",
        discussion: """
            Every value from the feed reaches PowerShell as a single-quoted literal with its quotes doubled. \
            Both scripts are idempotent, log every step and start with a header naming the feed's serial, issued \
            time, signer fingerprint and Config ids.
            """
    )

    @Option(help: "The feed document, as downloaded.")
    var feed: String

    @OptionGroup var trust: FeedTrustOptions

    @Option(help: ArgumentHelp("Judge certificate validity and the feed's expiry at this time instead of now (ISO 8601).", valueName: "time"))
    var at: String?

    @Option(help: "The folder to write the scripts to.")
    var out: String

    func validate() throws {
        if let at, (try? Date(at, strategy: .iso8601)) == nil {
            throw ValidationError("--at '\(at)' is not an ISO 8601 time: give one like 2021-09-15T16:42:08Z")
        }
    }

    func run() async throws {
        let verifier = try trust.verifier()
        let data = try InputFile.read(feed, limit: FeedVerifier.maximumDocumentBytes, refusing: "not verified")
        let time = at.flatMap { try? Date($0, strategy: .iso8601) } ?? Date()
        let content: FeedVerifier.VerifiedContent
        do {
            content = try await verifier.verifyContent(data, at: time)
        } catch {
            throw CommandFailure("\(feed): not verified: \(error.description)")
        }
        let scripts: MitigationScripts
        do {
            scripts = try MitigationScripts(content: content)
        } catch {
            throw CommandFailure("\(feed): no scripts written: \(error.description)")
        }
        do {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            for (name, text) in [(MitigationScripts.applyName, scripts.apply), (MitigationScripts.removeName, scripts.remove)] {
                try MitigationScripts.file(text).write(to: URL(fileURLWithPath: written(name)), options: .atomic)
            }
        } catch {
            throw CommandFailure("\(out): cannot write the scripts: \(error.localizedDescription)")
        }
        let verified = content.feed
        let configs = verified.configIDs.isEmpty ? "none" : verified.configIDs.joined(separator: ",")
        print("verified: serial \(verified.serial ?? "-"), issued \(verified.issued ?? "-"), expires \(verified.expires ?? "-"), configs \(configs), signed by \(verified.signer)")
        print("wrote \(written(MitigationScripts.applyName)) and \(written(MitigationScripts.removeName))")
    }

    /// The path of a script in `--out`, as given (relative stays relative), one separator between:
    /// `--out scripts/` writes `scripts/Apply-Mitigations.ps1`.
    private func written(_ name: String) -> String {
        (out as NSString).appendingPathComponent(name)
    }
}
