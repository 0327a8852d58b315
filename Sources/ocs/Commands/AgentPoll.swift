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

/// Who the agent polls as and where it keeps its state: shared by `agent poll` and `agent run`.
struct AgentHostOptions: ParsableArguments {
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

    var blockedIDs: [String] {
        (blocked ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    var identity: AgentIdentity {
        AgentIdentity(build: build, name: name, serverID: serverID, orgID: orgID, blocked: blockedIDs, autoApply: !disableAutoApply)
    }

    func validate() throws {
        for id in blockedIDs where !MitigationChange.isValidID(id) {
            throw ValidationError("--blocked: '\(id)' is not a mitigation id")
        }
    }

    /// The state saved in the state folder, or a fresh one (said on standard error).
    func loadState() throws(AgentError) -> AgentState {
        try AgentStateFile(folder: state).load { FileHandle.standardError.write(Data("agent: \($0)\n".utf8)) }
    }

    /// The agent for this host: its credential read from the state folder.
    func agent(_ connection: AgentConnectionOptions, _ trust: FeedTrustOptions, failure: String) throws -> EMAgent {
        let credential: String?
        do {
            credential = try AgentStateFile(folder: state).loadCredential()
        } catch {
            throw CommandFailure("\(failure): \(error.description)")
        }
        return EMAgent(server: connection.serverURL, fetcher: try connection.fetcher(), verifier: try trust.verifier(), credential: credential)
    }
}

/// `ocs agent poll`: one poll as a host, verified, applied to the host's state folder.
struct AgentPoll: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "poll",
        abstract: "Poll the feed once as an EM-compatible agent, verify it and apply the change to the host state.",
        discussion: """
            The state folder holds agent-state.json: the highest serial and issued time accepted (an older feed \
            is refused), the mitigations applied (a record: no IIS is touched) and the feed's ETag, and \
            host-credential once the host enrolled (ocs agent enroll), sent with every poll. A feed whose signed \
            expires has passed, or that carries none, is refused. After applying a change the agent polls again at \
            once, so the server records what it applied now rather than at the next poll. With --wait, the poll \
            holds the feed accepted before and asks the server to answer only when it changes or the wait passes \
            (Prefer: wait, see docs/agent.md); an unchanged feed prints 'unchanged'. Each failure is one line \
            naming its cause (signature, rollback, expired, HTTP status, unreachable, timeout, TLS, proxy), exit status 1.
            """
    )

    @OptionGroup var connection: AgentConnectionOptions
    @OptionGroup var trust: FeedTrustOptions
    @OptionGroup var host: AgentHostOptions

    @Option(help: "Seconds the server may hold the poll until the feed changes (1 to 3600; the server cuts it to its --max-wait).")
    var wait: Int?

    @Flag(help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        if let wait, !(1...3600).contains(wait) { throw ValidationError("--wait must be 1 to 3600 seconds") }
    }

    func run() async throws {
        let agent = try host.agent(connection, trust, failure: "poll failed")
        let file = AgentStateFile(folder: host.state)
        let identity = host.identity
        let outcome: PollOutcome
        do {
            var current = try host.loadState()
            // Without --wait the feed is fetched and verified whatever the host holds.
            if wait == nil { current.etag = nil }
            switch try await agent.poll(as: identity, state: current, wait: wait) {
            case .unchanged(let held):
                print(json ? #"{"unchanged": true, "held": \#(held)}"# : "unchanged: serial \(current.highestSerial.map(String.init) ?? "-")\(held ? "" : " (the server did not hold the poll)")")
                return
            case .changed(let changed):
                outcome = changed
            }
            try file.save(outcome.state)
        } catch {
            throw CommandFailure("poll failed: \(error.description)")
        }
        // Reported at once. The change is applied and saved whatever becomes of the report: its
        // failure is said, and the next poll reports instead.
        var reported = false
        var changedAgain: PollOutcome?
        if outcome.change.changesSomething {
            do {
                changedAgain = try await agent.report(as: identity, state: outcome.state)
                if let changedAgain { try file.save(changedAgain.state) }
                reported = true
            } catch {
                FileHandle.standardError.write(Data("agent: the report poll failed (\(error.description)): the next poll reports what was applied\n".utf8))
            }
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
                "blocked": host.blockedIDs,
                "signer": outcome.feed.signer,
                "reported": reported,
                "changedAgain": changedAgain.map { ["serial": $0.feed.serial as Any? ?? NSNull(), "applied": $0.change.apply, "removed": $0.change.remove] as [String: Any] } as Any? ?? NSNull(),
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
            if let changedAgain {
                print("changed again before the report: serial \(changedAgain.feed.serial ?? "-"), applied \(list(changedAgain.change.apply)), removed \(list(changedAgain.change.remove))")
            }
        }
    }
}
