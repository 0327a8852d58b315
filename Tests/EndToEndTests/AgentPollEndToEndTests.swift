import Foundation
import OCSTestSupport
import Testing

/// `ocs agent poll` against a live `ocs serve`, judged by the server's own coverage and the state file.
struct AgentPollEndToEndTests {
    static let hostID = "6f1d2c3b-0a4e-4b5c-9d8e-7f6a5b4c3d2e"
    static let unsetProxies = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"].flatMap { ["-u", $0] }

    static func poll(_ workspace: Workspace, server: String, cert: String, state: String, _ extra: [String] = []) throws -> CommandResult {
        // Without the runner's proxy variables: these polls go straight to loopback unless a test gives --proxy.
        try Command.run("/usr/bin/env", unsetProxies + [Command.ocs, "agent", "poll", "--server", server, "--cert", cert, "--state", state,
                                                        "--build", "15.1.2507.6", "--name", "EX16-01", "--server-id", hostID, "--timeout", "20"] + extra)
    }

    static func stateFile(_ state: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: state).appendingPathComponent("agent-state.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func coverage(_ workspace: Workspace, _ rule: String) throws -> [String: Int] {
        let result = try workspace.ocs("rules", "coverage", rule, "--json", "--db", workspace.database)
        let object = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
        return try #require(object?["hosts"] as? [String: Int], "\(result.output) \(result.stderr)")
    }

    @Test func appliesAndReportsAtOnceSoCoverageShowsTheHostApplied() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        let cert = workspace.folder.appendingPathComponent("data/dev-signing-cert.pem").path
        let state = workspace.folder.appendingPathComponent("host-state").path

        let first = try Self.poll(workspace, server: server.baseURL, cert: cert, state: state)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("no state file"), "a missing state file is logged")
        let lines = first.output.split(separator: "\n").map(String.init)
        #expect(lines.contains("configs: M1,PING1"))
        #expect(lines.contains("applied: M1,PING1"))
        #expect(lines.contains("removed: none"))
        let saved = try Self.stateFile(state)
        #expect(saved["applied"] as? [String] == ["M1", "PING1"])
        #expect((saved["highestSerial"] as? Int ?? 0) >= 1)
        // Having applied M1 and PING1, the agent polled again at once to report them: the host is
        // covered now, not at its next poll.
        let reported = try Self.coverage(workspace, "M1")
        #expect(reported["applied"] == 1 && reported["exposed"] == 0, "\(reported)")
        #expect(try Self.stateFile(state)["etag"] as? String != nil)

        let second = try Self.poll(workspace, server: server.baseURL, cert: cert, state: state, ["--json"])
        #expect(second.status == 0, "\(second.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: second.stdout) as? [String: Any])
        #expect(report["applied"] as? [String] == [])
        #expect(report["nowApplied"] as? [String] == ["M1", "PING1"])
        let hosts = try Self.coverage(workspace, "M1")
        #expect(hosts["applied"] == 1 && hosts["exposed"] == 0, "\(hosts)")
    }

    @Test func blockedAndAutoApplyOffAreReportedAndNothingBlockedIsApplied() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        let cert = workspace.folder.appendingPathComponent("data/dev-signing-cert.pem").path
        let state = workspace.folder.appendingPathComponent("host-state").path
        let blocked = try Self.poll(workspace, server: server.baseURL, cert: cert, state: state, ["--blocked", "M1", "--json"])
        #expect(blocked.status == 0, "\(blocked.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: blocked.stdout) as? [String: Any])
        #expect(report["applied"] as? [String] == ["PING1"])
        _ = try Self.poll(workspace, server: server.baseURL, cert: cert, state: state, ["--blocked", "M1"])
        #expect(try Self.coverage(workspace, "M1")["blocked"] == 1)

        let off = workspace.folder.appendingPathComponent("off-state").path
        let disabled = try Command.run("/usr/bin/env", AgentPollEndToEndTests.unsetProxies + [Command.ocs, "agent", "poll", "--server", server.baseURL, "--cert", cert, "--state", off,
                                          "--build", "15.1.2507.6", "--name", "EX16-02", "--disable-auto-apply"])
        #expect(disabled.status == 0, "\(disabled.stderr)")
        #expect(disabled.output.contains("applied: none"))
    }

    @Test func refusesAnOlderFeedReplayedByAnotherProcessAndAFeedSignedWithAnotherKey() throws {
        let workspace = try Workspace()
        let data = workspace.folder.appendingPathComponent("data")
        // The first server creates the database and the key, then stops: keep a copy of that state.
        try workspace.startServer().stop()
        let old = workspace.folder.appendingPathComponent("old")
        try FileManager.default.createDirectory(at: old, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: data, to: old.appendingPathComponent("data"))
        // Publish a new rule: the live server's serial moves past the copy's.
        try workspace.publishRuleForEveryBuild("EXTRA1", description: "An extra rule published after the copy was taken.", file: "extra/EXTRA1.yaml")

        let live = try workspace.startServer()
        defer { live.stop() }
        let cert = data.appendingPathComponent("dev-signing-cert.pem").path
        let state = workspace.folder.appendingPathComponent("host-state").path
        let accepted = try Self.poll(workspace, server: live.baseURL, cert: cert, state: state)
        #expect(accepted.status == 0, "\(accepted.stderr)")
        #expect(accepted.output.contains("EXTRA1"))
        let before = try Data(contentsOf: URL(fileURLWithPath: state).appendingPathComponent("agent-state.json"))

        // The same key, an older database: a genuine but older feed, served by another process.
        let replay = try ServerProcess(database: old.appendingPathComponent("data/ocs.sqlite").path,
                                       arguments: ["--rules", workspace.rules])
        defer { replay.stop() }
        let refused = try Self.poll(workspace, server: replay.baseURL, cert: cert, state: state)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("rollback:"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1, "one line: \(refused.stderr)")
        // The same old feed is fine for the signature: only the rollback check refused it.
        let fresh = workspace.folder.appendingPathComponent("fresh-state").path
        #expect(try Self.poll(workspace, server: replay.baseURL, cert: cert, state: fresh).status == 0)

        // Another workspace's server signs with its own development key.
        let other = try Workspace()
        let impostor = try other.startServer()
        defer { impostor.stop() }
        let forged = try Self.poll(workspace, server: impostor.baseURL, cert: cert, state: state)
        #expect(forged.status != 0)
        #expect(forged.stderr.contains("signature:") && forged.stderr.contains("not by the pinned certificate"), "\(forged.stderr)")
        // Neither refusal touched the host's state.
        #expect(try Data(contentsOf: URL(fileURLWithPath: state).appendingPathComponent("agent-state.json")) == before)
    }

    @Test func failuresNameTheirCauseOnOneLine() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        let cert = workspace.folder.appendingPathComponent("data/dev-signing-cert.pem").path
        let state = workspace.folder.appendingPathComponent("host-state").path

        // A port nobody listens on: take one, then close it.
        let listener = try LoopbackListener()
        let closedPort = listener.port
        listener.stop()
        let unreachable = try Self.poll(workspace, server: "http://127.0.0.1:\(closedPort)", cert: cert, state: state)
        #expect(unreachable.status != 0)
        #expect(unreachable.stderr.contains("unreachable:"), "\(unreachable.stderr)")

        let status = try Self.poll(workspace, server: server.baseURL, cert: cert, state: state, ["--name", "bad name"])
        #expect(status.status != 0)
        #expect(status.stderr.contains("HTTP status 400"), "\(status.stderr)")

        // Neither failure created a state; a corrupt state file is logged and the host starts afresh.
        #expect(!FileManager.default.fileExists(atPath: state + "/agent-state.json"))
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: state).appendingPathComponent("agent-state.json"))
        let afresh = try Self.poll(workspace, server: server.baseURL, cert: cert, state: state)
        #expect(afresh.status == 0, "\(afresh.stderr)")
        #expect(afresh.stderr.contains("is corrupt"), "\(afresh.stderr)")
        #expect(try Self.stateFile(state)["applied"] as? [String] == ["M1", "PING1"])
    }
}
