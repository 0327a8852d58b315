import Foundation
import OCSTestSupport
import Synchronization
import Testing

/// The admin API against the real server, with tokens made by the real CLI.
@Suite(.serialized)
struct AdminAPIEndToEndTests {
    /// A running server with one token per role, plus a revoked one.
    final class Fixture {
        let workspace: Workspace
        let server: ServerProcess
        var tokens: [String: String] = [:]

        init() throws {
            workspace = try Workspace()
            server = try workspace.startServer()
            for (name, role) in [("rita", "reader"), ("alice", "publisher"), ("adam", "admin"), ("gone", "admin")] {
                let created = try workspace.ocs("tokens", "create", "--name", name, "--role", role, "--db", workspace.database)
                guard created.status == 0 else { throw CommandFailedError(message: created.stderr) }
                tokens[name] = created.output.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            _ = try workspace.ocs("tokens", "revoke", "gone", "--db", workspace.database)
        }

        func call(_ method: String, _ path: String, token: String?, json: String? = nil, headers: [String] = []) throws -> CurlResponse {
            var options = ["-X", method]
            if let token { options += ["-H", "Authorization: Bearer \(tokens[token] ?? token)"] }
            if let json { options += ["-H", "Content-Type: application/json", "--data-binary", json] }
            for header in headers { options += ["-H", header] }
            return try Curl.request(server.baseURL + "/api/v1" + path, options)
        }

        func feedIDs(build: String = "15.2.1118.7") throws -> [String] {
            try XMLLint.configIDs(Curl.request(server.baseURL + "/getexchangemitigations?build=\(build)").body)
        }

        func feed(build: String = "15.2.1118.7") throws -> String {
            try Curl.request(server.baseURL + "/getexchangemitigations?build=\(build)").text
        }

        deinit { server.stop() }
    }

    static func rule(_ id: String, _ description: String) -> String {
        #"{"id": "\#(id)", "description": "\#(description)", "actions": [{"type": "DisableService", "service": "MSExchangeTest"}]}"#
    }

    @Test func everyEndpointChecksTokenAndRole() throws {
        let fixture = try Fixture()
        let endpoints: [(String, String, String?, String)] = [
            ("GET", "/rules", nil, "reader"),
            ("GET", "/rules/M1", nil, "reader"),
            ("GET", "/rules/M1/revisions", nil, "reader"),
            ("GET", "/rules/M1/impact", nil, "reader"),
            ("GET", "/hosts", nil, "reader"),
            ("GET", "/hosts/none", nil, "reader"),
            ("GET", "/rules/M1/coverage", nil, "reader"),
            ("GET", "/fleet", nil, "reader"),
            ("GET", "/audit", nil, "reader"),
            ("DELETE", "/hosts/none", nil, "publisher"),
            ("PUT", "/rules/MATRIX", Self.rule("MATRIX", "matrix"), "publisher"),
            ("POST", "/rules/MATRIX/publish", nil, "publisher"),
            ("POST", "/rules/MATRIX/retire", nil, "publisher"),
            ("DELETE", "/rules/NEVER", nil, "publisher"),
            ("GET", "/tokens", nil, "admin"),
            ("POST", "/tokens", #"{"name": "made-by-api", "role": "reader"}"#, "admin"),
            ("DELETE", "/tokens/nobody", nil, "admin"),
        ]
        let rank = ["reader": 0, "publisher": 1, "admin": 2]
        for (method, path, body, needed) in endpoints {
            for token in [nil, "gone", "not-a-token"] {
                let response = try fixture.call(method, path, token: token, json: body)
                #expect(response.status == 401, "\(method) \(path) with \(token ?? "no token")")
                #expect(response.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
            }
            for (name, role) in [("rita", "reader"), ("alice", "publisher"), ("adam", "admin")] {
                let response = try fixture.call(method, path, token: name, json: body)
                if rank[role]! >= rank[needed]! {
                    #expect(![401, 403].contains(response.status), "\(method) \(path) as \(role): \(response.status)")
                } else {
                    #expect(response.status == 403, "\(method) \(path) as \(role)")
                }
            }
        }
        let tokenList = try fixture.call("GET", "/tokens", token: "adam").text
        #expect(!fixture.tokens.values.contains { tokenList.contains($0) }, "no secret is ever listed")
        let audit = try fixture.workspace.ocs("audit", "--json", "--db", fixture.workspace.database).output
        #expect(!fixture.tokens.values.contains { audit.contains($0) }, "no secret reaches the audit trail")
    }

    /// No API answer, dashboard page or refusal may be kept by a cache, a new token's least of all;
    /// feeds and the dashboard's static files keep their own caching.
    @Test func answersAreNeverStoredExceptWhatSaysItsOwnCaching() throws {
        let fixture = try Fixture()
        let created = try fixture.call("POST", "/tokens", token: "adam", json: #"{"name": "ci", "role": "reader"}"#)
        #expect(created.status == 201 && created.text.contains("\"token\""), "\(created.text)")
        let base = fixture.server.baseURL
        let answers: [(String, CurlResponse)] = [
            ("token creation", created),
            ("a list", try fixture.call("GET", "/rules", token: "rita")),
            ("a refusal without a token", try fixture.call("GET", "/rules", token: nil)),
            ("a refusal for the role", try fixture.call("POST", "/tokens", token: "rita", json: #"{"name": "x", "role": "admin"}"#)),
            ("an unknown endpoint", try fixture.call("GET", "/nowhere", token: "rita")),
            ("the sign-in page", try Curl.request(base + "/ui/login")),
            ("a redirect to sign in", try Curl.request(base + "/ui/")),
            ("readiness", try Curl.request(base + "/readyz")),
            ("metrics", try Curl.request(base + "/metrics")),
        ]
        for (what, answer) in answers {
            #expect(answer.header("Cache-Control") == "no-store", "\(what): \(answer.status) \(answer.headers)")
        }
        #expect(try Curl.request(base + "/getexchangemitigations?build=15.2.1118.7").header("Cache-Control") == "no-cache")
        #expect(try Curl.request(base + "/ui/static/ocs.css").header("Cache-Control") == "public, max-age=86400")
    }

    @Test func fullLifecycleReachesTheFeedStepByStep() throws {
        let fixture = try Fixture()
        func serial() throws -> Int { Int(try #require(try fixture.feed().firstMatch(of: /serial="(\d+)"/)).1)! }
        let start = try serial()

        let created = try fixture.call("PUT", "/rules/M9", token: "alice", json: Self.rule("M9", "first text"))
        #expect(created.status == 201)
        #expect(created.header("ETag") == "\"1\"")
        #expect(try fixture.feedIDs() == ["M1", "PING1"], "a draft is not served")

        #expect(try fixture.call("POST", "/rules/M9/publish", token: "alice").status == 422, "a first publish says who receives it")
        #expect(try fixture.call("POST", "/rules/M9/publish", token: "alice", json: #"{"everyone": true}"#).status == 200)
        #expect(try fixture.feedIDs() == ["M1", "M9", "PING1"])
        #expect(try serial() == start + 1)
        let published = try fixture.feed()
        let certificate = fixture.workspace.folder.appendingPathComponent("data/dev-signing-cert.pem").path
        #expect(try XMLSec.verify(Data(published.utf8), trusting: certificate).status == 0)

        let edited = try fixture.call("PUT", "/rules/M9", token: "alice", json: Self.rule("M9", "second text"), headers: ["If-Match: \"1\""])
        #expect(edited.status == 200)
        #expect(edited.header("ETag") == "\"2\"")
        #expect(try fixture.feed().contains("first text"), "the published revision keeps serving")
        #expect(try serial() == start + 1)

        #expect(try fixture.call("POST", "/rules/M9/publish", token: "alice").status == 200)
        #expect(try fixture.feed().contains("second text"))
        #expect(try fixture.call("POST", "/rules/M9/publish", token: "alice", json: #"{"revision": 1}"#).status == 200)
        #expect(try fixture.feed().contains("first text"), "rolled back to revision 1")
        #expect(try serial() == start + 3)

        #expect(try fixture.call("POST", "/rules/M9/retire", token: "alice").status == 200)
        #expect(try fixture.feedIDs() == ["M1", "PING1"])
        #expect(try serial() == start + 4)

        let revisions = try JSONSerialization.jsonObject(with: fixture.call("GET", "/rules/M9/revisions", token: "rita").body) as? [[String: Any]]
        #expect(revisions?.count == 2)
        let audit = (try JSONSerialization.jsonObject(with: fixture.call("GET", "/audit?rule=M9", token: "rita").body) as? [String: Any])?["items"] as? [[String: Any]] ?? []
        #expect(audit.map { "\($0["actor"]!) \($0["action"]!) \($0["revision"] ?? "-") \($0["outcome"]!)" } == [
            "alice rule.put 1 ok",
            "alice rule.publish - refused: rule M9 is draft: say who receives it, groups (a staged rollout) or everyone",
            "alice rule.publish 1 ok: released to everyone", "alice rule.put 2 ok",
            "alice rule.publish 2 ok: released to everyone", "alice rule.publish 1 ok: released to everyone", "alice rule.retire 1 ok",
        ])
        #expect(audit.allSatisfy { $0["remoteAddress"] as? String == "127.0.0.1" })
    }

    /// The server reads the serial again before it answers a change, so the poll right after the
    /// answer is served the change, every time (the 50 ms watcher alone would often be late).
    @Test func aChangeThroughTheAPIIsServedOnTheVeryNextPoll() throws {
        let fixture = try Fixture()
        #expect(try fixture.call("PUT", "/rules/N1", token: "alice", json: Self.rule("N1", "next poll")).status == 201)
        for _ in 0..<5 {
            #expect(try fixture.call("POST", "/rules/N1/publish", token: "alice", json: #"{"everyone": true}"#).status == 200)
            #expect(try fixture.feedIDs() == ["M1", "N1", "PING1"])
            #expect(try fixture.call("POST", "/rules/N1/retire", token: "alice").status == 200)
            #expect(try fixture.feedIDs() == ["M1", "PING1"])
        }
    }

    @Test func oneOfTwoConcurrentEditorsGetsPreconditionFailed() throws {
        let fixture = try Fixture()
        #expect(try fixture.call("PUT", "/rules/C1", token: "alice", json: Self.rule("C1", "base")).status == 201)
        let statuses = Mutex<[Int]>([])
        let url = fixture.server.baseURL + "/api/v1/rules/C1", token = fixture.tokens["alice"]!
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            let options = ["-X", "PUT", "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: application/json",
                           "-H", "If-Match: \"1\"", "--data-binary", Self.rule("C1", "edit \(index)")]
            let status = (try? Curl.request(url, options).status) ?? 0
            statuses.withLock { $0.append(status) }
        }
        #expect(statuses.withLock { $0.sorted() } == [200, 412])
        let revisions = try JSONSerialization.jsonObject(with: fixture.call("GET", "/rules/C1/revisions", token: "rita").body) as? [Any]
        #expect(revisions?.count == 2)
    }

    @Test func badInputsGetTheirStatusAndChangeNoRule() throws {
        let fixture = try Fixture()
        #expect(try fixture.call("PUT", "/rules/B1", token: "alice", json: Self.rule("B1", "base")).status == 201)
        #expect(try fixture.call("POST", "/rules/B1/publish", token: "alice", json: #"{"everyone": true}"#).status == 200)
        func snapshot() throws -> String {
            try fixture.call("GET", "/rules", token: "rita").text + fixture.call("GET", "/rules/B1/revisions", token: "rita").text
        }
        let before = try snapshot()
        let huge = try fixture.workspace.write("{\"id\": \"B1\", \"description\": \"" + String(repeating: "x", count: 1_100_000) + "\", \"actions\": []}", to: "huge.json")
        let cases: [(String, String, [String], Int)] = [
            ("PUT", "/rules/B1", ["-H", "Content-Type: application/json", "--data-binary", "{\"id\": \"B1\","], 400),
            ("PUT", "/rules/B1", ["-H", "Content-Type: application/json", "--data-binary", "@\(huge)"], 413),
            ("PUT", "/rules/B1", ["-H", "Content-Type: text/plain", "--data-binary", Self.rule("B1", "x")], 415),
            ("PUT", "/rules/B1", ["-H", "Content-Type: application/json", "--data-binary", #"{"id": "B1", "description": "d", "actions": []}"#], 422),
            ("PUT", "/rules/B1", ["-H", "Content-Type: application/json", "--data-binary", Self.rule("OTHER", "d")], 422),
            ("PUT", "/rules/B1", ["-H", "Content-Type: application/json", "--data-binary", Self.rule("B1", "stale"), "-H", "If-Match: \"7\""], 412),
            ("POST", "/rules/B1/publish", ["-H", "Content-Type: application/json", "--data-binary", #"{"revision": 9}"#], 422),
            ("POST", "/rules/B1/publish", ["-H", "Content-Type: application/json", "--data-binary", #"{"revison": 1}"#], 422),
            ("DELETE", "/rules/B1", [], 409),
            ("POST", "/rules/NOPE/retire", [], 404),
            ("GET", "/nothing", [], 404),
            ("PATCH", "/rules/B1", [], 405),
        ]
        for (method, path, options, status) in cases {
            let response = try Curl.request(fixture.server.baseURL + "/api/v1" + path,
                                            ["-X", method, "-H", "Authorization: Bearer \(fixture.tokens["alice"]!)"] + options)
            #expect(response.status == status, "\(method) \(path) \(options.prefix(2))")
            #expect(response.header("Content-Type") == "application/json; charset=utf-8")
        }
        let invalid = try fixture.call("PUT", "/rules/B1", token: "alice", json: #"{"id": "B1", "description": "d", "actions": [{"type": "IISUrlRewrite", "scope": "Server", "rule": {"name": "n", "input": "i", "pattern": "(", "action": "AbortRequest"}}]}"#)
        let problems = try JSONSerialization.jsonObject(with: invalid.body) as? [[String: String]]
        #expect(problems?.first?["field"] == "actions[0].rule.pattern")
        #expect(try snapshot() == before, "no refused call changed a rule or a revision")
        #expect(try fixture.feedIDs() == ["B1", "M1", "PING1"])
    }

    @Test func impactAndHostsShowTheFleet() throws {
        let fixture = try Fixture()
        for (server, build) in [("EX16", "15.1.2507.6"), ("EX19A", "15.2.1118.7"), ("EX19B", "15.2.1118.15"), ("EXSE", "15.2.2562.17")] {
            _ = try Curl.request(fixture.server.baseURL + "/getexchangemitigations?server=\(server)&build=\(build)")
        }
        let impact = try JSONSerialization.jsonObject(with: fixture.call("GET", "/rules/M1/impact", token: "rita").body) as? [String: Any]
        #expect(impact?["total"] as? Int == 2)
        #expect((impact?["byProduct"] as? [String: Int]) == ["Exchange2016": 1, "Exchange2019": 1])
        let counts = impact?["byCumulativeUpdate"] as? [[String: Any]]
        #expect(counts?.map { "\($0["product"]!) \($0["cumulativeUpdate"]!) \($0["hosts"]!)" } == ["Exchange2016 CU23 1", "Exchange2019 CU12 1"])
        #expect((impact?["hosts"] as? [[String: Any]])?.compactMap { $0["name"] as? String }.sorted() == ["EX16", "EX19A"])
        let hosts = try JSONSerialization.jsonObject(with: fixture.call("GET", "/hosts", token: "rita").body) as? [String: Any]
        #expect((hosts?["items"] as? [Any])?.count == 4)
        let detail = try JSONSerialization.jsonObject(with: fixture.call("GET", "/hosts/ex19a", token: "rita").body) as? [String: Any]
        #expect(((detail?["history"] as? [String: Any])?["items"] as? [Any])?.count == 1)
    }
}
