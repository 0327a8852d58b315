import Foundation
import OCSTestSupport
import Testing

/// What the command line prints for people: in order when piped, paths joined once, failures
/// worded for a person, a hint for a mistyped subcommand.
struct CommandLineMessagesEndToEndTests {
    @Test func hostsShowPrintsTheHostBeforeItsHistoryWhenPiped() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        for build in ["15.2.1118.7", "15.2.1118.15"] {
            #expect(try Curl.request(server.baseURL + "/getexchangemitigations?build=\(build)&server=EX-ORDER").status == 200)
        }
        // Command.run sends stdout to a file, as `| cat` sends it to a pipe: fully buffered.
        let shown = try workspace.ocs("hosts", "show", "EX-ORDER", "--db", workspace.database)
        #expect(shown.status == 0, "\(shown.stderr)")
        let lines = shown.output.split(separator: "\n").map(String.init)
        #expect(lines.count == 5, "\(shown.output)")
        #expect(lines.first?.hasPrefix("ID  HOST") == true, "\(shown.output)")
        #expect(lines.dropFirst().first?.contains("EX-ORDER") == true, "\(shown.output)")
        #expect(lines.dropFirst(2).first?.hasPrefix("SINCE") == true, "\(shown.output)")
    }

    @Test func agentScriptJoinsTheOutFolderAndTheFileNamesOnce() throws {
        let workspace = try Workspace()
        let folder = workspace.folder.appendingPathComponent("powershell").path
        let result = try workspace.ocs(["agent", "script", "--feed", SharedData.microsoftFeed, "--ca", SharedData.microsoftRoot,
                                        "--at", SharedData.microsoftFeedSigningTime, "--out", folder + "/"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output.contains("wrote \(folder)/Apply-Mitigations.ps1 and \(folder)/Remove-Mitigations.ps1\n"), "\(result.output)")
        #expect(!result.output.contains("//"), "\(result.output)")
        #expect(FileManager.default.fileExists(atPath: folder + "/Apply-Mitigations.ps1"))
    }

    @Test func aSecondServerOnAUsedPortSaysSoInOneBalancedLine() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        let second = try Command.run(Command.ocs, ["serve", "--host", "127.0.0.1", "--port", String(server.port), "--db", workspace.database,
                                                   "--rules", workspace.rules, "--access-log", "off"], timeout: 30)
        #expect(second.status != 0)
        let message = try #require(second.stderr.split(separator: "\n").last.map(String.init), "\(second.stderr)")
        #expect(message.contains("cannot serve on 127.0.0.1:\(server.port): the address is already in use"), "\(second.stderr)")
        #expect(message.filter { $0 == "(" }.count == message.filter { $0 == ")" }.count, "\(message)")
    }

    @Test func aTLSFailureNamesWhatFailedBeforeTheLibrarysDetail() throws {
        let workspace = try Workspace()
        let named = try TLSEndToEndTests.ServerCertificate(in: workspace.folder.appendingPathComponent("tls"), subjectAltName: "DNS:ocs-test.invalid")
        let server = try TLSEndToEndTests.startTLSServer(workspace, named)
        defer { server.stop() }
        let cert = workspace.folder.appendingPathComponent("data/dev-signing-cert.pem").path
        let state = workspace.folder.appendingPathComponent("host-state").path

        let other = try TLSEndToEndTests.ServerCertificate(in: workspace.folder.appendingPathComponent("other"))
        let untrusted = try AgentPollEndToEndTests.poll(workspace, server: "https://127.0.0.1:\(server.port)", cert: cert, state: state, ["--tls-ca", other.certificate])
        #expect(untrusted.status != 0)
        #expect(untrusted.stderr.contains("TLS: 127.0.0.1:\(server.port): certificate not trusted: the server's certificate does not chain to the trusted CA"), "\(untrusted.stderr)")
        #expect(untrusted.stderr.contains("CERTIFICATE_VERIFY_FAILED"), "\(untrusted.stderr)")

        // Trusted, but issued for another name.
        let mismatch = try AgentPollEndToEndTests.poll(workspace, server: "https://localhost:\(server.port)", cert: cert, state: state, ["--tls-ca", named.certificate])
        #expect(mismatch.status != 0)
        #expect(mismatch.stderr.contains("TLS: localhost:\(server.port): hostname mismatch: the server's certificate does not name localhost"), "\(mismatch.stderr)")

        // A plain-HTTP server answers the handshake with HTTP.
        let plain = try workspace.startServer()
        defer { plain.stop() }
        let garbled = try AgentPollEndToEndTests.poll(workspace, server: "https://127.0.0.1:\(plain.port)", cert: cert, state: state, ["--tls-ca", named.certificate])
        #expect(garbled.status != 0)
        #expect(garbled.stderr.contains("TLS: 127.0.0.1:\(plain.port): handshake failed: "), "\(garbled.stderr)")
    }

    @Test func aMistypedSubcommandGetsAHintAfterTheParsersError() throws {
        let workspace = try Workspace()
        let mistyped = try workspace.ocs("rules", "pubish", "M1")
        #expect(mistyped.status == 64, "\(mistyped.stderr)")
        #expect(mistyped.stderr.contains("Error: "), "\(mistyped.stderr)")
        #expect(mistyped.stderr.hasSuffix("did you mean 'publish'? (ocs rules publish)\n"), "\(mistyped.stderr)")
        let nested = try workspace.ocs("hosts", "shwo", "1")
        #expect(nested.stderr.hasSuffix("did you mean 'show'? (ocs hosts show)\n"), "\(nested.stderr)")
        let top = try workspace.ocs("rulse", "list")
        #expect(top.stderr.hasSuffix("did you mean 'rules'? (ocs rules)\n"), "\(top.stderr)")
        // Nothing near: the parser's own error, unchanged.
        let unknown = try workspace.ocs("rules", "frobnicate")
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("Error: "), "\(unknown.stderr)")
        #expect(!unknown.stderr.contains("did you mean"), "\(unknown.stderr)")
    }
}
