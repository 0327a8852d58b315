import Foundation
import OCSTestSupport
import Testing

/// `ocs agent script` on real feeds. PowerShell does not run here: the scripts are judged as text.
struct AgentScriptEndToEndTests {
    static func steps(_ path: URL) throws -> [String] {
        let text = String(decoding: try Data(contentsOf: path), as: UTF8.self)
        #expect(text.hasPrefix("\u{FEFF}# "), "a BOM for Windows PowerShell 5.1")
        let lines = text.components(separatedBy: "\r\n")
        let marker = try #require(lines.firstIndex(of: "# --- Steps ---"))
        return lines[(marker + 1)...].filter { !$0.isEmpty }
    }

    @Test func microsoftsFeedGivesScriptsThatChangeNothing() throws {
        let workspace = try Workspace()
        let out = workspace.folder.appendingPathComponent("scripts")
        let result = try workspace.ocs(["agent", "script", "--feed", SharedData.microsoftFeed, "--ca", SharedData.microsoftRoot,
                                        "--at", SharedData.microsoftFeedSigningTime, "--out", out.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output.contains("configs PING1"))
        for name in ["Apply-Mitigations.ps1", "Remove-Mitigations.ps1"] {
            let steps = try Self.steps(out.appendingPathComponent(name))
            // The heartbeat only: a step that changes nothing, by the shared steps' DoNothing.
            #expect(steps.filter { !$0.hasPrefix("Write-Step ") }.allSatisfy { $0.contains("-ConfigId 'PING1' -Index '1' -Type 'DoNothing'") }, "\(steps)")
            #expect(steps.contains { $0.hasPrefix("Invoke-EemsAction -Mode ") && $0.contains("-Type 'DoNothing'") })
            let text = try String(contentsOf: out.appendingPathComponent(name), encoding: .utf8)
            #expect(text.contains("# Configs: PING1\r\n"))
            #expect(text.contains("# Signer SHA-256 fingerprint: "))
        }
        // Without --at the signer certificate has expired: nothing is written.
        let expired = try workspace.ocs(["agent", "script", "--feed", SharedData.microsoftFeed, "--ca", SharedData.microsoftRoot,
                                         "--out", workspace.folder.appendingPathComponent("none").path])
        #expect(expired.status != 0)
        #expect(expired.stderr.contains("not verified"))
        #expect(!FileManager.default.fileExists(atPath: workspace.folder.appendingPathComponent("none").path))
    }

    @Test func aFeedFromTheServerGivesTheRewriteRuleAndAForgedOneGivesNothing() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        let cert = workspace.folder.appendingPathComponent("data/dev-signing-cert.pem").path
        let poll = try Curl.request(server.baseURL + "/getexchangemitigations?build=15.1.2507.6")
        let feed = try workspace.write(poll.text, to: "feed.xml")
        let out = workspace.folder.appendingPathComponent("scripts")
        let result = try workspace.ocs(["agent", "script", "--feed", feed, "--cert", cert, "--out", out.path])
        #expect(result.status == 0, "\(result.stderr)")
        let steps = try Self.steps(out.appendingPathComponent("Apply-Mitigations.ps1"))
        let rewrite = "-ConfigId 'M1' -Index '1' -Type 'IISUrlRewrite' -Value 'PowerShell - inbound' "
        #expect(steps.contains { $0.hasPrefix("Invoke-EemsAction -Mode 'Apply' " + rewrite) && $0.contains("-Site 'Default Web Site' -Scope 'Site'") }, "\(steps)")
        let removeSteps = try Self.steps(out.appendingPathComponent("Remove-Mitigations.ps1"))
        #expect(removeSteps.contains { $0.hasPrefix("Invoke-EemsAction -Mode 'Remove' " + rewrite) })

        // One byte changed in a signed value: refused, nothing written.
        let tampered = try workspace.write(poll.text.replacingOccurrences(of: "AbortRequest", with: "AbortRequesT"), to: "tampered.xml")
        let refused = try workspace.ocs(["agent", "script", "--feed", tampered, "--cert", cert, "--out", workspace.folder.appendingPathComponent("t").path])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("digest does not match"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: workspace.folder.appendingPathComponent("t").path))
    }
}
