import Foundation
#if canImport(Glibc)
import Glibc
#endif
import OCSAgent
import OCSDomain
import OCSSigning
import OCSTestSupport
import Testing

/// The agent refuses a feed whose signed `expires` has passed, and one that carries none.
struct AgentFeedExpiryTests {
    static let identity = AgentIdentity(build: "15.1.2507.6", name: "EX-01")

    static func agent(
        server: URL = URL(string: "http://127.0.0.1:9")!, verifier: FeedVerifier = FeedVerifier(trust: .certificate(SignedTestFeed.identity.certificate))
    ) throws -> EMAgent {
        EMAgent(server: server, fetcher: try FeedFetcher(timeout: .seconds(20)), verifier: verifier)
    }

    @Test func anExpiredFeedIsRefusedNamingItsExpiryAndAFeedWithoutExpiryIsRefused() async throws {
        let agent = try Self.agent()
        let expiry = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down) + 600)
        let expires = FeedTime.format(expiry)
        let feed = try SignedTestFeed.document([SignedTestFeed.ping], serial: 3, issued: "2026-11-23T06:00:00Z", expires: expires)
        let verified = try await agent.verify(Array(feed))
        #expect(verified.expires == expires)
        #expect(try EMAgent.accept(verified, as: Self.identity, state: AgentState()).state.highestSerial == 3)

        let later = expiry + 3600
        await #expect(throws: AgentError.expired("feed expired at \(expires) (now \(FeedTime.format(later)))")) {
            try await agent.verify(Array(feed), at: later)
        }

        // Signed without expires: genuine, but it would never expire, so the agent refuses it.
        let unexpiring = try await SignedTestFeed.verified([SignedTestFeed.ping], serial: 3, issued: "2026-11-23T06:00:00Z", expires: nil)
        do {
            _ = try EMAgent.accept(unexpiring, as: Self.identity, state: AgentState())
            Issue.record("a feed without expires was accepted")
        } catch {
            #expect(error.description.hasPrefix("expired: the feed carries no expires time"), "\(error)")
        }
    }

    @Test func theServersFeedIsAcceptedWithinItsValidityAndRefusedAfter() async throws {
        let scratch = try ScratchFolder()
        let before = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let server = try ServerProcess(database: scratch.path("data/ocs.sqlite"), arguments: ["--rules", scratch.path("no-rules"), "--feed-validity", "300"])
        defer { server.stop() }
        let pinned = try SigningIdentity.certificates(in: scratch.path("data/dev-signing-cert.pem"))[0]
        let agent = try Self.agent(server: URL(string: server.baseURL)!, verifier: FeedVerifier(trust: .certificate(pinned)))

        let outcome = try await agent.poll(as: Self.identity, state: AgentState())
        let after = Date()
        let expires = try #require(outcome.feed.expires.flatMap(FeedTime.parse))
        // Signing windows are half a validity, counted from issued: at least half the validity is left.
        #expect(expires > before + 150 && expires <= after + 300, "signed with --feed-validity 300: \(outcome.feed.expires ?? "-")")

        // The next poll judged an hour after that expiry (the agent's clock moved on; the server
        // signs a feed again only after half its validity, so it serves one that expired by then).
        let late = expires + 3600
        do {
            _ = try await agent.poll(as: Self.identity, state: outcome.state, at: late)
            Issue.record("an expired feed was accepted")
        } catch {
            #expect(error.description.hasPrefix("expired: feed expired at "), "\(error)")
            #expect(error.description.hasSuffix(" (now \(FeedTime.format(late)))"), "\(error)")
        }
    }

    /// Python's static file server: an HTTP server nobody here wrote, serving a prepared document
    /// as `/getexchangemitigations` (it ignores the query).
    final class StaticFeedServer {
        let process = Process()
        let port: Int

        static let script = """
            import functools, http.server, sys
            handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
            server = http.server.HTTPServer(("127.0.0.1", 0), handler)
            print(server.server_address[1], flush=True)
            server.serve_forever()
            """

        init(serving document: Data, in scratch: ScratchFolder) throws {
            try FileManager.default.createDirectory(atPath: scratch.path("site"), withIntermediateDirectories: true)
            try document.write(to: URL(fileURLWithPath: scratch.path("site/getexchangemitigations")))
            try Data(Self.script.utf8).write(to: URL(fileURLWithPath: scratch.path("server.py")))
            let output = scratch.path("server.out")
            _ = FileManager.default.createFile(atPath: output, contents: nil)
            process.executableURL = URL(fileURLWithPath: try Command.which("python3"))
            process.arguments = [scratch.path("server.py"), scratch.path("site")]
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
            process.standardError = FileHandle.nullDevice
            process.standardInput = FileHandle.nullDevice
            try process.run()
            var found: Int?
            for _ in 0..<500 where found == nil {
                usleep(10_000)
                found = (try? String(contentsOfFile: output, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            }
            guard let found else {
                process.terminate()
                throw DidNotStart()
            }
            port = found
        }

        struct DidNotStart: Error, CustomStringConvertible {
            var description: String { "python3's static file server printed no port" }
        }

        func stop() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    @Test func ocsAgentPollRefusesAnExpiredFeedOnOneLineAndKeepsItsState() throws {
        let scratch = try ScratchFolder()
        try SignedTestFeed.identity.write(keyFile: scratch.path("key.pem"), certificateFile: scratch.path("cert.pem"))
        let expires = FeedTime.format(Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down) - 60))
        let feed = try SignedTestFeed.document([SignedTestFeed.ping], serial: 4, issued: "2026-11-23T06:00:00Z", expires: expires)
        let server = try StaticFeedServer(serving: feed, in: scratch)
        defer { server.stop() }

        let unsetProxies = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"].flatMap { ["-u", $0] }
        let poll = try Command.run("/usr/bin/env", unsetProxies + [
            Command.ocs, "agent", "poll", "--server", "http://127.0.0.1:\(server.port)", "--cert", scratch.path("cert.pem"),
            "--state", scratch.path("state"), "--build", "15.1.2507.6", "--name", "EX16-01", "--timeout", "20",
        ])
        #expect(poll.status != 0)
        #expect(poll.stderr.contains("poll failed: expired: feed expired at \(expires) (now "), "\(poll.stderr)")
        #expect(poll.stderr.split(separator: "\n").filter { !$0.hasPrefix("agent: ") }.count == 1, "one line: \(poll.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path("state/agent-state.json")), "a refused feed changed the state")
    }
}
