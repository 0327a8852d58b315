import ArgumentParser
import Foundation
import NIOCore
import OCSAgent
import OCSSigning

/// Trust for a feed: a pinned signing certificate or a CA, never the key in the document.
struct FeedTrustOptions: ParsableArguments {
    @Option(help: "The signing certificate (PEM) the feed must be signed with.")
    var cert: String?

    @Option(help: "A root CA certificate (PEM) the signing certificate must chain to.")
    var ca: String?

    func validate() throws {
        guard (cert == nil) != (ca == nil) else { throw ValidationError("give exactly one of --cert and --ca") }
    }

    func verifier() throws -> FeedVerifier {
        do {
            if let cert { return FeedVerifier(trust: .certificate(try SigningIdentity.certificates(in: cert)[0])) }
            return FeedVerifier(trust: .roots(try SigningIdentity.certificates(in: ca ?? "")))
        } catch {
            throw CommandFailure(error.description)
        }
    }
}

/// Options shared by `agent poll` and `simulate` for reaching the server.
struct AgentConnectionOptions: ParsableArguments {
    @Option(help: "The ocs server's base URL, e.g. https://ocs.example.org:8443.")
    var server: String

    @Option(name: .customLong("tls-ca"), help: "For an https server: the CA certificate (PEM) its TLS certificate must chain to (default: the system's roots).")
    var tlsCA: String?

    @Option(help: "An HTTP CONNECT proxy, http://host:port (default: HTTPS_PROXY / HTTP_PROXY).")
    var proxy: String?

    @Option(help: "Seconds allowed for one poll: connect, TLS, request and response.")
    var timeout: Int = 30

    func validate() throws {
        guard let url = URL(string: server), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil else {
            throw ValidationError("--server '\(server)' is not an http:// or https:// URL")
        }
        guard (1...600).contains(timeout) else { throw ValidationError("--timeout must be 1 to 600 seconds") }
    }

    var serverURL: URL { URL(string: server)! }

    func fetcher() throws -> FeedFetcher {
        do {
            let roots = try tlsCA.map { path throws(AgentError) in try FeedFetcher.certificates(inPEMFile: path) }
            let proxyURL = try proxy.map { text throws(AgentError) in
                guard let url = URL(string: text.contains("://") ? text : "http://" + text) else { throw AgentError.invalidURL("--proxy '\(text)'") }
                return url
            } ?? FeedFetcher.proxyFromEnvironment(for: serverURL)
            return try FeedFetcher(timeout: .seconds(Int64(timeout)), trustRoots: roots, proxy: proxyURL)
        } catch {
            throw CommandFailure(error.description)
        }
    }
}

/// `ocs agent poll`: one poll as a host, verified, applied to the host's state folder.
struct AgentPoll: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "poll",
        abstract: "Poll the feed once as an EM-compatible agent, verify it and apply the change to the host state.",
        discussion: """
            The state folder holds agent-state.json: the highest serial and issued time accepted (an older feed \
            is refused) and the mitigations applied (a record: no IIS is touched), and host-credential once the host \
            enrolled (ocs agent enroll), sent with every poll. A feed whose signed expires has \
            passed, or that carries none, is refused. Each failure is one line \
            naming its cause (signature, rollback, expired, HTTP status, unreachable, timeout, TLS, proxy), exit status 1.
            """
    )

    @OptionGroup var connection: AgentConnectionOptions
    @OptionGroup var trust: FeedTrustOptions

    @Option(help: "The folder holding the host's state.")
    var state: String

    @Option(help: "The host's Exchange build, e.g. 15.2.1118.7.")
    var build: String

    @Option(help: "The host name.")
    var name: String

    @Option(name: .customLong("server-id"), help: "The host's immutable device GUID.")
    var serverID: String?

    @Option(name: .customLong("org-id"), help: "The organization GUID.")
    var orgID: String?

    @Option(help: "Mitigations blocked on this host, comma-separated.")
    var blocked: String?

    @Flag(name: .customLong("disable-auto-apply"), help: "Report mitigationsEnabled=false and apply nothing.")
    var disableAutoApply = false

    @Flag(help: "Print the result as JSON.")
    var json = false

    var blockedIDs: [String] {
        (blocked ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func validate() throws {
        for id in blockedIDs where !MitigationChange.isValidID(id) {
            throw ValidationError("--blocked: '\(id)' is not a mitigation id")
        }
    }

    func run() async throws {
        let file = AgentStateFile(folder: state)
        let credential: String?
        do {
            credential = try file.loadCredential()
        } catch {
            throw CommandFailure("poll failed: \(error.description)")
        }
        let agent = EMAgent(server: connection.serverURL, fetcher: try connection.fetcher(), verifier: try trust.verifier(), credential: credential)
        let identity = AgentIdentity(build: build, name: name, serverID: serverID, orgID: orgID, blocked: blockedIDs, autoApply: !disableAutoApply)
        let outcome: PollOutcome
        do {
            let current = try file.load { FileHandle.standardError.write(Data("agent: \($0)\n".utf8)) }
            outcome = try await agent.poll(as: identity, state: current)
            try file.save(outcome.state)
        } catch {
            throw CommandFailure("poll failed: \(error.description)")
        }
        if json {
            let object: [String: Any] = [
                "serial": outcome.feed.serial as Any? ?? NSNull(),
                "issued": outcome.feed.issued as Any? ?? NSNull(),
                "expires": outcome.feed.expires as Any? ?? NSNull(),
                "configs": outcome.feed.configIDs,
                "applied": outcome.change.apply,
                "removed": outcome.change.remove,
                "nowApplied": outcome.change.applied,
                "blocked": blockedIDs,
                "signer": outcome.feed.signer,
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            func list(_ ids: [String]) -> String { ids.isEmpty ? "none" : ids.joined(separator: ",") }
            print("verified: serial \(outcome.feed.serial ?? "-"), issued \(outcome.feed.issued ?? "-"), expires \(outcome.feed.expires ?? "-"), signed by \(outcome.feed.signer)")
            print("configs: \(list(outcome.feed.configIDs))")
            print("applied: \(list(outcome.change.apply))")
            print("removed: \(list(outcome.change.remove))")
            print("now applied: \(list(outcome.change.applied))")
        }
    }
}
