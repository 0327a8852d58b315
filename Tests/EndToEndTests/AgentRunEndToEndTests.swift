import Foundation
import OCSTestSupport
import Testing

/// `ocs agent run` against a live `ocs serve`: polls that wait for a change, the change applied
/// and reported at once, and a poll the server would not hold.
struct AgentRunEndToEndTests {
    /// Starts `ocs agent run` with `arguments`; its standard output goes to a file.
    static func startAgent(_ workspace: Workspace, server: ServerProcess, state: String, _ arguments: [String]) throws -> (Process, String) {
        let cert = workspace.folder.appendingPathComponent("data/dev-signing-cert.pem").path
        let output = workspace.folder.appendingPathComponent("agent-\(UUID().uuidString).out").path
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        _ = FileManager.default.createFile(atPath: output + ".err", contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = AgentPollEndToEndTests.unsetProxies + [
            Command.ocs, "agent", "run", "--server", server.baseURL, "--cert", cert, "--state", state,
            "--build", "15.1.2507.6", "--name", "EX16-01", "--server-id", AgentPollEndToEndTests.hostID, "--timeout", "10",
        ] + arguments
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: output + ".err"))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return (process, output)
    }

    /// Waits, bounded, until `condition` holds; false when it never did.
    static func eventually(within seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(100_000)
        }
        return try condition()
    }

    static func exit(_ process: Process, within seconds: Double) -> Int32? {
        guard eventually(within: seconds, { !process.isRunning }) else {
            process.terminate()
            process.waitUntilExit()
            return nil
        }
        return process.terminationStatus
    }

    /// The agent's second poll reports what the first applied (its check-in is recorded as it
    /// arrives) and waits 50 s for a change; the publish wakes it, the agent applies the new rule,
    /// and, its polls spent, reports it by a poll of its own: well inside the 40 s this test allows.
    @Test func aPublishedRuleIsAppliedAndReportedWhileThePollWaits() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        let state = workspace.folder.appendingPathComponent("host-state").path
        let (agent, output) = try Self.startAgent(workspace, server: server, state: state, ["--wait", "50", "--max-polls", "2"])
        defer { if agent.isRunning { agent.terminate() } }
        // The first poll: M1 and PING1 applied and reported, then the second poll is held.
        #expect(try Self.eventually(within: 20) { try AgentPollEndToEndTests.coverage(workspace, "M1")["applied"] == 1 })
        // Published once the second poll is held, so only the wake can answer it in time.
        #expect(try Self.eventually(within: 20) { try Curl.request(server.baseURL + "/metrics").text.contains("ocs_held_polls 1") })
        try workspace.publishRuleForEveryBuild("EXTRA1", description: "Published while the agent waits.", file: "EXTRA1.yaml")
        let status = Self.exit(agent, within: 40)
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        let errors = (try? String(contentsOfFile: output + ".err", encoding: .utf8)) ?? ""
        #expect(status == 0, "\(text) \(errors)")
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasSuffix("applied M1,PING1, removed none, now applied M1,PING1") == true, "\(lines)")
        #expect(lines.last?.hasSuffix("applied EXTRA1, removed none, now applied EXTRA1,M1,PING1") == true, "\(lines)")
        let hosts = try AgentPollEndToEndTests.coverage(workspace, "EXTRA1")
        #expect(hosts["applied"] == 1 && hosts["exposed"] == 0, "\(hosts)")
        #expect(try AgentPollEndToEndTests.stateFile(state)["applied"] as? [String] == ["EXTRA1", "M1", "PING1"])
    }

    /// With holding turned off on the server (`--max-held-polls 0`), the agent is answered at once
    /// and waits its interval instead of polling in a loop: two polls in its 3 s run, not hundreds.
    @Test func aPollTheServerDoesNotHoldIsFollowedAfterTheInterval() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer("--max-held-polls", "0")
        defer { server.stop() }
        let state = workspace.folder.appendingPathComponent("host-state").path
        let (agent, output) = try Self.startAgent(workspace, server: server, state: state, ["--wait", "30", "--interval", "3", "--max-polls", "3"])
        defer { if agent.isRunning { agent.terminate() } }
        #expect(Self.exit(agent, within: 30) == 0, "\((try? String(contentsOfFile: output + ".err", encoding: .utf8)) ?? "")")
        let hosts = try workspace.ocs("hosts", "show", AgentPollEndToEndTests.hostID, "--json", "--db", workspace.database)
        let object = try #require(try JSONSerialization.jsonObject(with: hosts.stdout) as? [String: Any], "\(hosts.output)")
        // Three polls: the first, then two answered 304 at once (the first of them reporting what
        // the first applied), an interval apart.
        let host = (object["host"] as? [String: Any]) ?? object
        #expect(host["pollCount"] as? Int == 3, "\(object)")
    }

    /// A server (or a proxy) that serves the feed without an entity tag cannot hold a poll: the
    /// agent then polls every interval, not in a loop. Here a static file server (Python's
    /// http.server, which sends no ETag) serves a genuine signed feed for three seconds.
    @Test func aFeedServedWithoutAnEntityTagIsPolledEveryIntervalNotInALoop() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        let cert = workspace.folder.appendingPathComponent("data/dev-signing-cert.pem").path
        let feed = try Curl.request(server.baseURL + "/getexchangemitigations?build=15.1.2507.6")
        server.stop()
        let site = try StaticSite(serving: workspace.folder.appendingPathComponent("static"), in: workspace)
        try feed.body.write(to: site.folder.appendingPathComponent("getexchangemitigations"))
        let staticServer = site.port

        let state = workspace.folder.appendingPathComponent("host-state").path
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        agent.arguments = AgentPollEndToEndTests.unsetProxies + [
            Command.ocs, "agent", "run", "--server", "http://127.0.0.1:\(staticServer)", "--cert", cert, "--state", state,
            "--build", "15.1.2507.6", "--name", "EX16-01", "--wait", "30", "--interval", "2",
        ]
        agent.standardOutput = FileHandle.nullDevice
        agent.standardError = FileHandle.nullDevice
        try agent.run()
        Thread.sleep(forTimeInterval: 3)
        agent.terminate()
        agent.waitUntilExit()
        let requests = site.requests
        // The first poll and its report, then one poll after the interval (2 s, ±20 %): not hundreds.
        #expect((2...4).contains(requests), "\(requests) requests in three seconds")
        #expect(try AgentPollEndToEndTests.stateFile(state)["applied"] as? [String] == ["M1", "PING1"])
    }
}
