import ArgumentParser
import Foundation
import OCSSigning

/// `ocs verify FILE`: checks a downloaded feed's signature against a pinned certificate or CA.
struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a downloaded feed's signature.",
        discussion: """
            Trust comes from --cert or --ca only, never from the key inside the document. Only signed \
            content is reported: a document holding anything beyond the signature profile is refused. \
            A feed whose signed expires has passed (or is malformed) is refused; one without expires, \
            as Microsoft's, is judged by its signature alone.
            """
    )

    @Argument(help: "The feed document, as downloaded (gunzipped).")
    var file: String

    @Option(help: "The signing certificate (PEM) the feed must be signed with.")
    var cert: String?

    @Option(help: "A root CA certificate (PEM) the signing certificate must chain to.")
    var ca: String?

    @Option(help: ArgumentHelp(
        "Judge certificate validity and the feed's expiry at this time instead of now (ISO 8601, e.g. 2021-09-15T16:42:08Z).",
        valueName: "time"
    ))
    var at: String?

    func validate() throws {
        guard (cert == nil) != (ca == nil) else { throw ValidationError("give exactly one of --cert and --ca") }
        _ = try validationTime()
    }

    /// `--at` as a date, or now.
    private func validationTime() throws -> Date {
        guard let at else { return Date() }
        guard let time = try? Date(at, strategy: .iso8601) else {
            throw ValidationError("--at '\(at)' is not an ISO 8601 time: give one like 2021-09-15T16:42:08Z")
        }
        return time
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
        let data = try read(file)
        let time = try validationTime()
        do {
            let feed = try await FeedVerifier(trust: trust).verify(data, at: time)
            let configs = feed.configIDs.isEmpty ? "none" : feed.configIDs.joined(separator: ",")
            print("verified: serial \(feed.serial ?? "-"), issued \(feed.issued ?? "-"), expires \(feed.expires ?? "-"), configs \(configs), signed by \(feed.signer)")
        } catch {
            var hint = ""
            switch error {
            case .certificateExpired, .certificateNotYetValid:
                if at == nil { hint = ": pass --at TIME to judge it at the time it was signed" }
            case .feedExpired:
                hint = ": fetch a fresh feed (the server signs each feed again before half its validity has passed)"
            default:
                break
            }
            throw CommandFailure("\(file): not verified: \(error.description)\(hint)")
        }
    }

    /// The file's bytes, refusing one too large to be a feed.
    private func read(_ path: String) throws -> Data {
        try InputFile.read(path, limit: FeedVerifier.maximumDocumentBytes, refusing: "not verified")
    }
}
