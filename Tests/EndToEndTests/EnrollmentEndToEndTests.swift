import Foundation
import OCSTestSupport
import Testing

/// Enrollment through the real binary, on the server's default `--check-ins enrolled`: an admin
/// makes a token, `ocs agent enroll` exchanges it, `ocs agent poll` sends the credential; polls
/// without it are served and change nothing; a revoked credential is answered 401.
@Suite(.serialized)
struct EnrollmentEndToEndTests {
    static let hostID = AgentPollEndToEndTests.hostID

    static func enroll(_ server: ServerProcess, state: String, token: String) throws -> CommandResult {
        try Command.run("/usr/bin/env", AgentPollEndToEndTests.unsetProxies + ["OCS_ENROLLMENT_TOKEN=\(token)", Command.ocs, "agent", "enroll",
                                                                               "--server", server.baseURL, "--state", state, "--name", "EX16-01", "--server-id", hostID])
    }

    struct HostJSON: Decodable {
        let name: String
        let applied: [String]
        let verified: Bool
        let pollCount: Int
    }

    static func hosts(_ workspace: Workspace) throws -> [HostJSON] {
        try JSONDecoder().decode([HostJSON].self, from: try workspace.ocs("hosts", "--json", "--db", workspace.database).stdout)
    }

    @Test func onlyTheEnrolledAgentChangesItsHost() throws {
        let workspace = try Workspace()
        // The default, named so the test harness does not choose `any`.
        let server = try workspace.startServer("--check-ins", "enrolled")
        defer { server.stop() }
        let cert = workspace.folder.appendingPathComponent("data/dev-signing-cert.pem").path
        let state = workspace.folder.appendingPathComponent("host-state").path
        let feed = server.baseURL + "/getexchangemitigations?build=15.1.2507.6"

        // Before enrolling: served, not recorded.
        #expect(try AgentPollEndToEndTests.poll(workspace, server: server.baseURL, cert: cert, state: state).status == 0)
        #expect(try Curl.request(feed + "&server=EX16-01&serverId=\(Self.hostID)").status == 200)
        #expect(try Self.hosts(workspace).isEmpty)

        let made = try workspace.ocs("enrollment", "create", "--count", "2", "--reason", "roll-out", "--db", workspace.database)
        #expect(made.status == 0, "\(made.stderr)")
        let tokens = made.output.split(separator: "\n").map(String.init)
        #expect(tokens.count == 2 && tokens.allSatisfy { $0.hasPrefix("ocs-enroll_") })
        let enrolled = try Self.enroll(server, state: state, token: tokens[0])
        #expect(enrolled.status == 0, "\(enrolled.stderr)")
        #expect(enrolled.output.contains("enrolled EX16-01"))
        let credentialFile = state + "/host-credential"
        let mode = (try FileManager.default.attributesOfItem(atPath: credentialFile)[.posixPermissions] as? Int) ?? 0
        #expect(mode == 0o600, "the credential is readable by the agent's user alone")

        // The agent's polls carry the credential: verified, and coverage follows them.
        #expect(try AgentPollEndToEndTests.poll(workspace, server: server.baseURL, cert: cert, state: state).status == 0)
        #expect(try AgentPollEndToEndTests.poll(workspace, server: server.baseURL, cert: cert, state: state).status == 0)
        var listed = try Self.hosts(workspace)
        #expect(listed.count == 1)
        #expect(listed.first?.verified == true && listed.first?.pollCount == 2)
        #expect(listed.first?.applied == ["M1", "PING1"])

        // Forgeries: the serverId, the name, a made-up credential, another host's serverId with nothing.
        #expect(try Curl.request(feed + "&server=EX16-01&serverId=\(Self.hostID)&applied=PING1").status == 200)
        #expect(try Curl.request(feed + "&server=ex16-01").status == 200)
        let madeUp = try Curl.request(feed + "&serverId=\(Self.hostID)", ["-H", "Authorization: Bearer ocs-host_made-up"])
        #expect(madeUp.status == 401 && madeUp.text.contains("enroll again"))
        #expect(try Curl.request(feed + "&serverId=00000000-0000-4000-8000-000000000009").status == 200)
        listed = try Self.hosts(workspace)
        #expect(listed.count == 1 && listed.first?.applied == ["M1", "PING1"] && listed.first?.pollCount == 2)
        let metrics = try Curl.request(server.baseURL + "/metrics").text
        // Six: the first agent poll reported what it applied by a second poll, unenrolled too.
        #expect(metrics.contains("ocs_check_ins_refused_total{reason=\"unauthenticated\"} 6"), "\(metrics)")
        #expect(metrics.contains("ocs_check_ins_refused_total{reason=\"invalid-credential\"} 1"))

        // A used token enrolls nothing; a revoked credential is answered 401 until the host enrolls again.
        let reused = try Self.enroll(server, state: state + "-other", token: tokens[0])
        #expect(reused.status != 0 && reused.stderr.contains("was used at"), "\(reused.stderr)")
        #expect(try workspace.ocs("hosts", "revoke", "EX16-01", "--reason", "laptop lost", "--db", workspace.database).status == 0)
        let refused = try AgentPollEndToEndTests.poll(workspace, server: server.baseURL, cert: cert, state: state)
        #expect(refused.status != 0 && refused.stderr.contains("401") && refused.stderr.contains("enroll again"), "\(refused.stderr)")
        #expect(try Self.hosts(workspace).first?.verified == false)
        #expect(try Self.enroll(server, state: state, token: tokens[1]).status == 0)
        #expect(try AgentPollEndToEndTests.poll(workspace, server: server.baseURL, cert: cert, state: state).status == 0)
        #expect(try Self.hosts(workspace).first?.verified == true)

        let audit = try workspace.ocs("audit", "--db", workspace.database).output
        for action in ["enrollment.create", "host.enroll", "host.revoke"] { #expect(audit.contains(action), "\(audit)") }
        #expect(audit.contains("re-enrolled"))
    }

    @Test func theAPIMakesTokensAndRevokesForAdminsOnly() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        let admin = try workspace.ocs("tokens", "create", "--name", "root", "--role", "admin", "--db", workspace.database).output.trimmingCharacters(in: .whitespacesAndNewlines)
        let publisher = try workspace.ocs("tokens", "create", "--name", "pub", "--role", "publisher", "--db", workspace.database).output.trimmingCharacters(in: .whitespacesAndNewlines)
        func call(_ path: String, _ token: String, body: String? = nil) throws -> CurlResponse {
            try Curl.request(server.baseURL + "/api/v1" + path, ["-X", "POST", "-H", "Authorization: Bearer \(token)"] + (body.map { ["-H", "Content-Type: application/json", "--data", $0] } ?? []))
        }
        #expect(try call("/enrollment-tokens", publisher).status == 403)
        #expect(try call("/enrollment-tokens", admin, body: "{\"count\": 0}").status == 422)
        #expect(try call("/enrollment-tokens", admin, body: "{\"count\": 1, \"extra\": 1}").status == 422)
        let made = try call("/enrollment-tokens", admin, body: "{\"count\": 1, \"validForHours\": 2}")
        #expect(made.status == 201, "\(made.text)")
        let token = try #require((try JSONSerialization.jsonObject(with: made.body) as? [String: Any])?["tokens"] as? [String])[0]

        func enroll(_ body: String, token: String?) throws -> CurlResponse {
            try Curl.request(server.baseURL + "/enroll", ["-X", "POST", "-H", "Content-Type: application/json", "--data", body] + (token.map { ["-H", "Authorization: Bearer \($0)"] } ?? []))
        }
        #expect(try enroll("{\"serverId\": \"\(Self.hostID)\"}", token: nil).status == 401)
        #expect(try enroll("{\"serverId\": \"not-a-guid\"}", token: token).status == 422)
        #expect(try enroll("{\"serverId\": \"\(Self.hostID)\", \"server\": \"EX<1>\"}", token: token).status == 422)
        #expect(try Curl.request(server.baseURL + "/enroll").status == 405)
        let enrolled = try enroll("{\"serverId\": \"\(Self.hostID)\", \"server\": \"EX16-01\"}", token: token)
        #expect(enrolled.status == 201, "\(enrolled.text)")
        let credential = try #require((try JSONSerialization.jsonObject(with: enrolled.body) as? [String: Any])?["credential"] as? String)
        #expect(try enroll("{\"serverId\": \"\(Self.hostID)\"}", token: token).status == 401, "one host, once")

        let feed = server.baseURL + "/getexchangemitigations?build=15.1.2507.6&serverId=\(Self.hostID)"
        #expect(try Curl.request(feed, ["-H", "Authorization: Bearer \(credential)"]).status == 200)
        #expect(try Curl.request(feed, ["-H", "Authorization: Basic abc"]).status == 401)
        #expect(try call("/hosts/EX16-01/revoke", publisher).status == 403)
        #expect(try call("/hosts/EX16-01/revoke", admin).status == 204)
        #expect(try call("/hosts/EX16-01/revoke", admin).status == 409)
        #expect(try Curl.request(feed, ["-H", "Authorization: Bearer \(credential)"]).status == 401)
    }
}
