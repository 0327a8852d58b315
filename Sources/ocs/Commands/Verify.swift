import ArgumentParser
import Foundation
import OCSSigning

/// `ocs verify FILE`: checks a downloaded feed's signature against a pinned certificate or CA.
struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a downloaded feed's signature.",
        discussion: "Trust comes from --cert or --ca only, never from the key inside the document."
    )

    @Argument(help: "The feed document, as downloaded (gunzipped).")
    var file: String

    @Option(help: "The signing certificate (PEM) the feed must be signed with.")
    var cert: String?

    @Option(help: "A root CA certificate (PEM) the signing certificate must chain to.")
    var ca: String?

    func validate() throws {
        guard (cert == nil) != (ca == nil) else { throw ValidationError("give exactly one of --cert and --ca") }
    }

    func run() async throws {
        let trust: FeedVerifier.Trust
        do {
            if let cert {
                trust = .certificate(try SigningIdentity.certificates(in: cert)[0])
            } else {
                trust = .roots(try SigningIdentity.certificates(in: ca ?? ""))
            }
        } catch {
            throw CommandFailure(error.description)
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw CommandFailure("\(file): cannot read the file")
        }
        do {
            let feed = try await FeedVerifier(trust: trust).verify(data)
            let configs = feed.configIDs.isEmpty ? "none" : feed.configIDs.joined(separator: ",")
            print("verified: serial \(feed.serial ?? "-"), issued \(feed.issued ?? "-"), configs \(configs), signed by \(feed.signer)")
        } catch {
            throw CommandFailure("\(file): not verified: \(error.description)")
        }
    }
}
