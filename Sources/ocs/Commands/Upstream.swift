import ArgumentParser
import Foundation
import NIOCore
import OCSAgent
import OCSDomain
import OCSOperations
import OCSSigning
import OCSStorage

/// `ocs upstream`: what Microsoft's own OCS ships, kept once verified against Microsoft's roots.
struct Upstream: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fetch, import and show the documents Microsoft's OCS serves.",
        discussion: """
            Each document is verified against Microsoft's code-signing root, and its time-stamp against Microsoft's \
            time-stamping root, before anything is kept: every distinct document once, verbatim, with when it was first \
            and last seen. `ocs serve --upstream-interval` fetches on a schedule.
            """,
        subcommands: [UpstreamFetch.self, UpstreamImport.self, UpstreamShow.self]
    )
}

/// `ocs upstream fetch`: gets Microsoft's document now and keeps it.
struct UpstreamFetch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fetch", abstract: "Fetch Microsoft's document now and keep it once verified.")

    @OptionGroup var source: UpstreamSourceOptions
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let url = try source.resolvedURL()
        let download = try source.download()
        let document: Data
        do {
            document = try await download(url)
        } catch {
            throw CommandFailure("\(url): nothing kept: \(error)")
        }
        let operations = try database.operations()
        try await UpstreamImport.keep(document, origin: url.absoluteString, named: url.absoluteString, in: operations)
    }
}

/// `ocs upstream import FILE`: a document carried in by hand, for a site that cannot reach Microsoft.
struct UpstreamImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Keep a document of Microsoft's carried in by hand, once verified.",
        discussion: "FILE is the body of https://officeclient.microsoft.com/getexchangemitigations as served (curl -o FILE on a machine that can reach it)."
    )

    @Argument(help: "The document, as Microsoft served it.")
    var file: String

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let document = try InputFile.read(file, limit: FeedVerifier.maximumDocumentBytes, refusing: "nothing kept")
        try await Self.keep(document, origin: "import", named: file, in: try database.operations())
    }

    /// Keeps `document` and says what was kept, or why nothing was.
    static func keep(_ document: Data, origin: String, named name: String, in operations: Operations) async throws {
        let kept: UpstreamOperations.Kept
        do {
            kept = try await operations.upstream.keep(document, origin: origin, context: .localUser)
        } catch {
            throw CommandFailure("\(name): nothing kept: \(error.description)")
        }
        let document = kept.document
        let configs = document.configIDs.isEmpty ? "none" : document.configIDs.joined(separator: ",")
        print("\(kept.isNew ? "kept" : "seen again"): \(document.digest) (\(document.size) bytes), configs \(configs), signed \(document.stampedAt.map { $0.formatted(.iso8601) } ?? "without a time-stamp") by \(document.signer)")
        if !kept.withoutRule.isEmpty {
            print("no rule in ocs for: \(kept.withoutRule.joined(separator: ", "))")
        }
    }
}

/// `ocs upstream show`: what Microsoft serves now, and every document kept.
struct UpstreamShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show what Microsoft serves now and every document kept.")

    @Flag(help: "Print JSON for scripts, as GET /api/v1/upstream gives it (the newest 1000 documents).")
    var json = false

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let operations = try database.operations()
        let status: UpstreamStatus
        do {
            status = try operations.upstream.status()
        } catch {
            throw CommandFailure(error.description)
        }
        if json {
            let documents = try operations.upstreamDocuments.documents(page: PageRequest(limit: PageRequest.maximumLimit))
            FileHandle.standardOutput.write(Data(APIJSON.encode(UpstreamView(status, documents: documents))) + Data("\n".utf8))
            return
        }
        guard let current = status.current else {
            print("no document of Microsoft's is kept yet: ocs upstream fetch, or ocs upstream import FILE")
            return
        }
        print("serving since \(current.firstSeen.formatted(.iso8601)) (last seen \(current.lastSeen.formatted(.iso8601))): \(current.digest)")
        print("configs: \(current.configIDs.isEmpty ? "none" : current.configIDs.joined(separator: ", "))")
        print("no rule in ocs for: \(status.withoutRule.isEmpty ? "none" : status.withoutRule.joined(separator: ", "))")
        try PageRequest.walk(read: { try operations.upstreamDocuments.documents(page: $0) }) { page in
            print(TextTable(header: ["FIRST SEEN", "LAST SEEN", "CONFIGS", "DIGEST", "FROM"], rows: page.items.map {
                [$0.firstSeen.formatted(.iso8601), $0.lastSeen.formatted(.iso8601), $0.configIDs.joined(separator: ","), String($0.digest.prefix(16)), $0.origin]
            }).rendered, terminator: "")
        }
    }
}

/// Where Microsoft's document is fetched from, and how: `ocs upstream fetch` and `ocs serve`.
struct UpstreamSourceOptions: ParsableArguments {
    @Option(name: .customLong("url"), help: ArgumentHelp(
        "Microsoft's OCS endpoint. [default: \(UpstreamDefaults.url)]", valueName: "url"
    ))
    var url: String?

    @Option(name: .customLong("proxy"), help: ArgumentHelp(
        "An HTTP CONNECT proxy, http://host:port (default: HTTPS_PROXY from the environment).", valueName: "url"
    ))
    var proxy: String?

    func resolvedURL() throws -> URL {
        try UpstreamSource.url(url)
    }

    func download() throws -> @Sendable (URL) async throws -> Data {
        try UpstreamSource.download(for: try resolvedURL(), proxy: proxy)
    }
}

/// The default endpoint as help texts show it.
enum UpstreamDefaults {
    static let url = UpstreamOperations.microsoftURL.absoluteString
}

/// Microsoft's endpoint as a setting names it, and how its document is downloaded. Trust comes
/// from the document's signature, checked before anything is kept, not from the connection.
enum UpstreamSource {
    /// How long one fetch may take, connect to last byte.
    static let timeout: TimeAmount = .seconds(60)

    static func url(_ text: String?) throws -> URL {
        guard let text else { return UpstreamOperations.microsoftURL }
        guard let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host?.isEmpty == false else {
            throw CommandFailure("the upstream URL '\(text.prefix(80))' is not an http or https URL")
        }
        // The URL is kept with each document, audited, shown and logged: it must hold no secret.
        guard url.user == nil, url.password == nil else {
            throw CommandFailure("the upstream URL must not hold a user name or password: it is kept with each document and shown")
        }
        return url
    }

    /// A GET of the document through `proxy` (or the environment's), at most a feed's size, that
    /// must answer 200.
    static func download(for url: URL, proxy: String?) throws -> @Sendable (URL) async throws -> Data {
        let proxyURL: URL?
        if let proxy {
            guard let parsed = URL(string: proxy) else { throw CommandFailure("the proxy '\(proxy.prefix(80))' is not a URL: give http://host:port") }
            proxyURL = parsed
        } else {
            proxyURL = FeedFetcher.proxyFromEnvironment(for: url)
        }
        let fetcher: FeedFetcher
        do {
            fetcher = try FeedFetcher(timeout: timeout, proxy: proxyURL, maximumBodyBytes: FeedVerifier.maximumDocumentBytes)
        } catch {
            throw CommandFailure(error.description)
        }
        return { url in
            let response = try await fetcher.get(url)
            guard response.status == 200 else { throw AgentError.httpStatus(response.status, "Microsoft's OCS did not answer with its document") }
            return Data(response.body)
        }
    }
}
