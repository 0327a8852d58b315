import Foundation
import OCSTestSupport
import Testing

/// What Microsoft ships, end to end: a loopback file server stands in for Microsoft's OCS and
/// serves its genuine document; the real `ocs` binary fetches it, keeps it once, flags what no
/// rule in ocs has, and keeps nothing of a document whose counter-signature was altered, one
/// signed by another key, or a truncated one.
@Suite("Microsoft upstream, end to end")
struct UpstreamEndToEndTests {
    static func genuine() throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: SharedData.microsoftFeed))
    }

    /// The genuine document with one base64 character of its time-stamp token changed: its own
    /// signature still verifies (the Object is not covered by it), its stamp no longer does.
    static func alteredCounterSignature() throws -> Data {
        var text = String(decoding: try genuine(), as: UTF8.self)
        let open = try #require(text.range(of: "<CounterSignature"))
        let start = try #require(text.range(of: ">", range: open.upperBound..<text.endIndex)).upperBound
        let close = try #require(text.range(of: "</CounterSignature>", range: start..<text.endIndex)).lowerBound
        let body = text[start..<close]
        // A character well inside the token, away from any padding.
        let index = body.index(body.startIndex, offsetBy: body.count / 2)
        let replacement: Character = body[index] == "A" ? "B" : "A"
        text.replaceSubrange(index...index, with: String(replacement))
        return Data(text.utf8)
    }

    func fetch(_ workspace: Workspace, _ site: StaticSite) throws -> CommandResult {
        try Command.run("/usr/bin/env", AgentPollEndToEndTests.unsetProxies + [
            Command.ocs, "upstream", "fetch", "--url", site.url("getexchangemitigations"), "--db", workspace.database,
        ])
    }

    @Test func aStandInForMicrosoftIsFetchedKeptOnceAndWhatHasNoRuleIsFlagged() throws {
        let workspace = try Workspace()
        try workspace.createDatabase()
        let site = try StaticSite(serving: workspace.folder.appendingPathComponent("microsoft"), in: workspace)
        let document = site.folder.appendingPathComponent("getexchangemitigations")
        try Self.genuine().write(to: document)

        // No rule in this database: PING1, the one mitigation the document holds, has none.
        let first = try fetch(workspace, site)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.output.hasPrefix("kept: ") && first.output.contains("configs PING1, signed 2021-09-15T16:42:08Z"), "\(first.output)")
        #expect(first.output.contains("no rule in ocs for: PING1"))
        let again = try fetch(workspace, site)
        #expect(again.status == 0 && again.output.hasPrefix("seen again: "), "\(again.output)\(again.stderr)")

        // Hostile documents keep nothing: each is refused with why.
        // A feed of ocs's own, from another workspace (a server's first start imports rules).
        let other = try Workspace()
        let resigned = try other.startServer()
        let ours = try Curl.request(resigned.baseURL + "/getexchangemitigations?build=15.2.1118.7").body
        resigned.stop()
        let genuine = try Self.genuine()
        for (name, bytes, why) in [
            ("altered counter-signature", try Self.alteredCounterSignature(), "time-stamp"),
            ("signed by another key", ours, "Microsoft"),
            ("truncated", genuine.prefix(genuine.count / 2), "not a well-formed feed"),
        ] {
            try Data(bytes).write(to: document)
            let refused = try fetch(workspace, site)
            #expect(refused.status != 0 && refused.stderr.contains("nothing kept") && refused.stderr.localizedCaseInsensitiveContains(why), "\(name): \(refused.stderr)")
        }
        let shown = try workspace.ocs("upstream", "show", "--json", "--db", workspace.database)
        let status = try #require(try JSONSerialization.jsonObject(with: Data(shown.output.utf8)) as? [String: Any], "\(shown.output)\(shown.stderr)")
        #expect((status["documents"] as? [String: Any])?["items"].flatMap { $0 as? [Any] }?.count == 1, "\(status)")
        #expect((status["current"] as? [String: Any])?["configIds"] as? [String] == ["PING1"])
        #expect(status["withoutRule"] as? [String] == ["PING1"])

        // The server started on this database (its first start imports PING1 and M1) serves what
        // was kept, byte for byte, and counts no mitigation without a rule any more.
        let server = try workspace.startServer()
        let created = try workspace.ocs("tokens", "create", "--name", "rita", "--role", "reader", "--db", workspace.database)
        let token = created.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let api = try Curl.request(server.baseURL + "/api/v1/upstream", ["-H", "Authorization: Bearer \(token)"])
        let view = try #require(try JSONSerialization.jsonObject(with: api.body) as? [String: Any], "\(api.text)")
        #expect(view["withoutRule"] as? [String] == [], "\(view)")
        let digest = try #require((view["current"] as? [String: Any])?["digest"] as? String)
        let verbatim = try Curl.request(server.baseURL + "/api/v1/upstream/\(digest)", ["-H", "Authorization: Bearer \(token)"])
        #expect(verbatim.status == 200 && verbatim.body == genuine)
        #expect(try Curl.request(server.baseURL + "/api/v1/upstream/not-a-digest", ["-H", "Authorization: Bearer \(token)"]).status == 400)
        let metrics = try Curl.request(server.baseURL + "/metrics").text
        #expect(metrics.contains("ocs_upstream_configs_without_rule 0"), "\(metrics)")
    }

    /// `ocs serve --upstream-interval` fetches at start; Microsoft unreachable leaves the server
    /// ready, counts the failure and logs it once.
    @Test func theServerFetchesOnAScheduleAndStaysReadyWhenMicrosoftIsUnreachable() throws {
        let workspace = try Workspace()
        let site = try StaticSite(serving: workspace.folder.appendingPathComponent("microsoft"), in: workspace)
        try Self.genuine().write(to: site.folder.appendingPathComponent("getexchangemitigations"))
        let server = try workspace.startServer("--upstream-interval", "3600", "--upstream-url", site.url("getexchangemitigations"))
        #expect(AgentRunEndToEndTests.eventually(within: 30) {
            (try? Curl.request(server.baseURL + "/metrics").text.contains("ocs_upstream_fetches_total{outcome=\"new\"} 1")) == true
        }, "\(server.log)")
        server.stop()
        let shown = try workspace.ocs("upstream", "show", "--db", workspace.database)
        #expect(shown.output.contains("no rule in ocs for: none"), "\(shown.output)")

        let unreachable = try LoopbackListener()
        defer { unreachable.stop() }
        let again = try workspace.startServer("--upstream-interval", "3600", "--upstream-url", "http://127.0.0.1:\(unreachable.port)/getexchangemitigations")
        #expect(AgentRunEndToEndTests.eventually(within: 30) {
            (try? Curl.request(again.baseURL + "/metrics").text.contains("ocs_upstream_fetches_total{outcome=\"failed\"} 1")) == true
        }, "\(again.log)")
        #expect(try Curl.request(again.baseURL + "/readyz").status == 200)
        #expect(again.log.components(separatedBy: "fetching Microsoft's document failed").count == 2, "\(again.log)")
        // What was kept stays.
        #expect(try workspace.ocs("upstream", "show", "--db", workspace.database).output.contains("serving since"))
    }
}
