import ArgumentParser
import Foundation
import OCSSigning

/// `ocs verify FILE`: checks a downloaded feed's signature against a pinned certificate or CA,
/// and its time stamp against a time-stamping CA.
struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a downloaded feed's signature.",
        discussion: """
            Trust comes from --cert, --ca or --microsoft only, never from the key inside the document. \
            Only signed content is reported: a document holding anything beyond the signature profile \
            is refused. A feed whose signed expires has passed (or is malformed) is refused; one without \
            expires, as Microsoft's, is judged by its signature alone. With --timestamp-ca (or \
            --microsoft), a feed whose signature carries a time stamp, as Microsoft's does, has its \
            signing certificate judged at the stamped time, and one whose time stamp does not verify \
            is refused.
            """
    )

    @Argument(help: "The feed document, as downloaded (gunzipped).")
    var file: String

    @Option(help: "The signing certificate (PEM) the feed must be signed with.")
    var cert: String?

    @Option(help: "A root CA certificate (PEM) the signing certificate must chain to.")
    var ca: String?

    @Option(name: .customLong("timestamp-ca"), help: ArgumentHelp(
        "A root CA certificate (PEM) the authority of the signature's time stamp must chain to; the signing certificate is then judged at the stamped time.",
        valueName: "pem"
    ))
    var timestampCA: String?

    @Flag(help: "Pin the Microsoft roots shipped with ocs: Root Certificate Authority 2011 for the signer, 2010 for the time stamp (Microsoft's own feed).")
    var microsoft = false

    @Option(help: ArgumentHelp(
        "Judge certificate validity and the feed's expiry at this time instead of now (ISO 8601, e.g. 2021-09-15T16:42:08Z).",
        valueName: "time"
    ))
    var at: String?

    func validate() throws {
        guard [cert != nil, ca != nil, microsoft].filter({ $0 }).count == 1 else {
            throw ValidationError("give exactly one of --cert, --ca and --microsoft")
        }
        if microsoft && timestampCA != nil {
            throw ValidationError("--microsoft pins Microsoft's time-stamping root already: give --timestamp-ca with --cert or --ca")
        }
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
        let verifier = try makeVerifier()
        let data = try read(file)
        let time = try validationTime()
        do {
            let feed = try await verifier.verify(data, at: time)
            let configs = feed.configIDs.isEmpty ? "none" : feed.configIDs.joined(separator: ",")
            // The stamp comes last: a subject holds commas, so "; " sets it apart from the signer.
            let stamp = feed.stampedAt.map { "; time-stamped \(FeedTime.formatMilliseconds($0)) by \(feed.stampedBy ?? "-")" } ?? ""
            print("verified: serial \(feed.serial ?? "-"), issued \(feed.issued ?? "-"), expires \(feed.expires ?? "-"), configs \(configs), signed by \(feed.signer)\(stamp)")
        } catch {
            var hint = ""
            switch error {
            case .certificateExpired, .certificateNotYetValid:
                if at == nil {
                    hint = ": pass --at TIME to judge it at the time it was signed"
                    if verifier.timeStampRoots.isEmpty { hint += ", or --timestamp-ca PEM (--microsoft) to judge a time-stamped feed at its stamp" }
                }
            case .feedExpired:
                hint = ": fetch a fresh feed (the server signs each feed again before half its validity has passed)"
            default:
                break
            }
            throw CommandFailure("\(file): not verified: \(error.description)\(hint)")
        }
    }

    /// The verifier the options pin: `--cert` or `--ca`, with `--timestamp-ca`; or Microsoft's roots.
    private func makeVerifier() throws -> FeedVerifier {
        if microsoft {
            return FeedVerifier(trust: .roots([MicrosoftRoots.codeSigning]), timeStampRoots: [MicrosoftRoots.timeStamping])
        }
        do {
            let trust: FeedVerifier.Trust
            if let cert {
                trust = .certificate(try SigningIdentity.certificates(in: cert)[0])
            } else {
                trust = .roots(try SigningIdentity.certificates(in: ca ?? ""))
            }
            let timeStampRoots = try timestampCA.map { path throws(SigningIdentityError) in try SigningIdentity.certificates(in: path) } ?? []
            return FeedVerifier(trust: trust, timeStampRoots: timeStampRoots)
        } catch {
            throw CommandFailure(error.description)
        }
    }

    /// The file's bytes, refusing one too large to be a feed.
    private func read(_ path: String) throws -> Data {
        try InputFile.read(path, limit: FeedVerifier.maximumDocumentBytes, refusing: "not verified")
    }
}
