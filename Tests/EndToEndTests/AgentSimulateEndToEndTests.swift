import Foundation
import OCSTestSupport
import Testing

/// `ocs simulate` drives a live server until its coverage shows the simulated hosts applied.
struct AgentSimulateEndToEndTests {
    @Test func aSimulatedFleetConvergesAndTheServerCoverageShowsItApplied() throws {
        let workspace = try Workspace()
        // A rule for every build, so every simulated host is in scope whatever build it drew.
        _ = try workspace.write("""
            id: FLEET1
            description: Every build - disable an app pool.
            state: published
            actions:
              - type: DisableAppPool
                appPool: MSExchangeFleetAppPool
            """, to: "Rules/FLEET1.yaml")
        let server = try workspace.startServer()
        defer { server.stop() }
        let cert = workspace.folder.appendingPathComponent("data/dev-signing-cert.pem").path
        let arguments = ["simulate", "--server", server.baseURL, "--cert", cert, "--hosts", "36", "--interval", "1s",
                         "--duration", "8s", "--seed", "42", "--progress", "2", "--json"]
        let result = try Command.run(Command.ocs, arguments, timeout: 120)
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any], "\(result.output)")
        #expect(report["errors"] as? Int == 0, "\(report)")
        #expect((report["polls"] as? Int ?? 0) >= 72, "every host polled at least twice")
        // Two distinct documents at most per build group, verified once each, not once per poll.
        #expect((report["distinctDocumentsVerified"] as? Int ?? 99) < 36)
        let rules = try #require(report["rules"] as? [String: [String: Int]])
        #expect(rules["FLEET1"] == ["inScope": 36, "applied": 36], "\(rules)")
        // The progress lines went to standard error.
        #expect(result.stderr.contains("polls ") && result.stderr.contains("FLEET1 "), "\(result.stderr)")

        // The server's own view: every simulated host is known and reports FLEET1 applied.
        let coverage = try workspace.ocs("rules", "coverage", "FLEET1", "--json", "--db", workspace.database)
        let hosts = try #require((try JSONSerialization.jsonObject(with: coverage.stdout) as? [String: Any])?["hosts"] as? [String: Int])
        #expect(hosts["total"] == 36 && hosts["inScope"] == 36 && hosts["applied"] == 36, "\(hosts)")

        // The same seed gives the same identities: a second run adds no host.
        let again = try Command.run(Command.ocs, ["simulate", "--server", server.baseURL, "--cert", cert, "--hosts", "36",
                                                  "--interval", "1s", "--duration", "2s", "--seed", "42"], timeout: 120)
        #expect(again.status == 0, "\(again.stderr)")
        let after = try workspace.ocs("rules", "coverage", "FLEET1", "--json", "--db", workspace.database)
        let total = ((try JSONSerialization.jsonObject(with: after.stdout) as? [String: Any])?["hosts"] as? [String: Int])?["total"]
        #expect(total == 36)
    }

    /// With --wait, hosts hold polls; a rule published during the run reaches all of them and
    /// each reports it at once, so the run's report and the server agree on full coverage.
    @Test func aFleetHoldingWaitsAppliesARulePublishedDuringTheRun() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        let cert = workspace.folder.appendingPathComponent("data/dev-signing-cert.pem").path
        let output = workspace.folder.appendingPathComponent("simulate.json").path
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let simulate = Process()
        simulate.executableURL = URL(fileURLWithPath: Command.ocs)
        simulate.arguments = ["simulate", "--server", server.baseURL, "--cert", cert, "--hosts", "36", "--interval", "1s",
                              "--duration", "8s", "--seed", "7", "--wait", "30", "--progress", "2", "--json"]
        simulate.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        simulate.standardError = FileHandle.nullDevice
        try simulate.run()
        defer { if simulate.isRunning { simulate.terminate() } }
        // Once every host has polled (the first interval), the rule is published.
        #expect(AgentRunEndToEndTests.eventually(within: 20) {
            ((try? workspace.ocs("rules", "coverage", "M1", "--json", "--db", workspace.database).stdout)
                .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }?["hosts"] as? [String: Int])?["total"] == 36
        })
        try workspace.publishRuleForEveryBuild("FLEET2", description: "Every build - published while the fleet waits.", file: "FLEET2.yaml")
        // The run ends at its duration: held polls do not outlast it.
        #expect(AgentRunEndToEndTests.exit(simulate, within: 30) == 0)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output))) as? [String: Any])
        #expect(report["errors"] as? Int == 0, "\(report)")
        #expect((report["rules"] as? [String: [String: Int]])?["FLEET2"] == ["inScope": 36, "applied": 36], "\(report)")
        let coverage = try workspace.ocs("rules", "coverage", "FLEET2", "--json", "--db", workspace.database)
        let hosts = try #require((try JSONSerialization.jsonObject(with: coverage.stdout) as? [String: Any])?["hosts"] as? [String: Int])
        #expect(hosts["inScope"] == 36 && hosts["applied"] == 36, "\(hosts)")
    }

    @Test func refusesAServerOffLoopbackAndUnboundedSettings() throws {
        let workspace = try Workspace()
        let cert = SharedData.microsoftRoot
        for (extra, message) in [
            (["--server", "http://192.0.2.1:8080", "--hosts", "2"], "not on a loopback address"),
            (["--server", "http://127.0.0.1:1", "--hosts", "0"], "--hosts must be 1 to 100000"),
            (["--server", "http://127.0.0.1:1", "--hosts", "2", "--interval", "1ms"], "--interval must be 100ms to 1h"),
            (["--server", "http://127.0.0.1:1", "--hosts", "2", "--duration", "soon"], "is not a duration"),
        ] {
            let result = try workspace.ocs(["simulate", "--cert", cert] + extra)
            #expect(result.status != 0)
            #expect(result.stderr.contains(message), "\(result.stderr)")
        }
    }
}
