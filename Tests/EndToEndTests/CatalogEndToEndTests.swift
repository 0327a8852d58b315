import Foundation
import OCSTestSupport
import Testing

/// Targeting by CU name and catalog updates without a rebuild, through the real `ocs` binary,
/// the admin API and the feed.
@Suite(.serialized)
struct CatalogEndToEndTests {
    static let nov26 = ["--product", "Exchange2019", "--cu", "CU15", "--update", "Nov26SU", "--build", "15.2.1748.55", "--released", "2026-11"]

    static func feedIDs(_ server: ServerProcess, _ build: String) throws -> [String] {
        try XMLLint.configIDs(Curl.request(server.baseURL + "/getexchangemitigations?build=\(build)&server=EX-\(build.replacingOccurrences(of: ".", with: "-"))").body)
    }

    static func serial(_ server: ServerProcess) throws -> Int {
        let text = try Curl.request(server.baseURL + "/getexchangemitigations").text
        guard let range = text.range(of: #"serial="(\d+)""#, options: .regularExpression) else { return -1 }
        return Int(text[range].dropFirst(8).dropLast()) ?? -1
    }

    /// Under require-approval, a build that changes which builds a published rule applies to is
    /// added only as an admin's emergency with a reason: the API and the command line alike.
    @Test func underApprovalABuildChangingARulesReachIsAnEmergency() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        let db = ["--db", workspace.database]
        var tokens: [String: String] = [:]
        for (name, role) in [("adam", "admin"), ("alice", "publisher")] {
            tokens[name] = try workspace.ocs(["tokens", "create", "--name", name, "--role", role] + db).output.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(try workspace.ocs(["builds", "add"] + Self.nov26 + db).status == 0)
        let rule = try workspace.write("""
            id: NOV
            description: Exposed on Exchange 2019 until the November 2026 SU.
            applies:
              products: [Exchange2019]
              fixedBy: Nov26SU
            actions:
              - type: DisableService
                service: MSExchangeTest
            """, to: "new/NOV.yaml")
        let imported = try workspace.ocs(["rules", "import", rule, "--publish", "--everyone"] + db)
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(try workspace.ocs(["policy", "set", "require-approval", "on"] + db).status == 0)
        let serial = try Self.serial(server)
        let cu16 = #"{"product": "Exchange2019", "cu": "CU16", "build": "15.2.1800.5", "released": "2026-12-01"}"#
        func post(_ token: String, _ query: String = "") throws -> CurlResponse {
            try Curl.request(server.baseURL + "/api/v1/builds" + query, [
                "-X", "POST", "-H", "Authorization: Bearer \(tokens[token]!)", "-H", "Content-Type: application/json", "--data-binary", cu16,
            ])
        }
        func cu16Listed() throws -> Bool {
            try Curl.request(server.baseURL + "/api/v1/builds?product=Exchange2019&cu=CU16", ["-H", "Authorization: Bearer \(tokens["adam"]!)"]).text.contains("15.2.1800.5")
        }

        let refused = try post("adam")
        #expect(refused.status == 403, "\(refused.text)")
        #expect(refused.text.contains("require-approval is on") && refused.text.contains("(NOV)") && refused.text.contains("?emergency=true&reason="), "\(refused.text)")
        #expect(try post("alice", "?emergency=true&reason=INC-1").status == 403, "a publisher may not add builds at all")
        #expect(try post("adam", "?emergency=true").status == 400, "an emergency needs a reason")
        let cli = try workspace.ocs(["builds", "add", "--product", "Exchange2019", "--cu", "CU16", "--build", "15.2.1800.5", "--released", "2026-12-01"] + db)
        #expect(cli.status != 0 && cli.stderr.contains("require-approval is on") && cli.stderr.contains("--emergency --reason"), "\(cli.stderr)")
        #expect(try !cu16Listed())
        #expect(try Self.serial(server) == serial)
        let audit = try workspace.ocs(["audit", "--json"] + db).output
        #expect(audit.contains("refused: 403 require-approval is on"), "the refusal is audited: \(audit)")

        let emergency = try post("adam", "?emergency=true&reason=INC-42")
        #expect(emergency.status == 201, "\(emergency.text)")
        #expect(try cu16Listed())
        #expect(try Self.serial(server) == serial + 1)
        #expect(try workspace.ocs(["audit", "--json"] + db).output.contains("emergency: changes published rules NOV"))
    }

    @Test func aRuleNamingCUsAndAnUpdateAddedWithoutARebuild() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        let db = ["--db", workspace.database]
        let rule = try workspace.write("""
            id: CU15-NOV
            description: Exposed on Exchange 2019 CU15 until the November 2026 SU.
            applies:
              cus: [Exchange 2019 CU15]
              fixedBy: Nov26SU
            actions:
              - type: DisableService
                service: MSExchangeTest
            """, to: "new/CU15-NOV.yaml")

        let unknown = try workspace.ocs(["rules", "import", rule, "--publish", "--everyone"] + db)
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("CU15-NOV.yaml:5: applies.fixedBy: unknown update name 'Nov26SU'"))

        let added = try workspace.ocs(["builds", "add"] + Self.nov26 + ["--reason", "CHG-2211"] + db)
        #expect(added.status == 0, "\(added.stderr)")
        #expect(added.output.contains("added Exchange2019 CU15 Nov26SU 15.2.1748.55"))
        let audit = try workspace.ocs(["audit", "--json"] + db)
        #expect(audit.output.contains("CHG-2211"), "the reason is kept with the catalog change: \(audit.output)")
        let again = try workspace.ocs(["builds", "add", "--product", "Exchange2019", "--cu", "CU15", "--update", "Nov26SU", "--build", "15.2.1748.56", "--released", "2026-11"] + db)
        #expect(again.status != 0)
        #expect(again.stderr.contains("Exchange2019 CU15 Nov26SU is already in the catalog as 15.2.1748.55"))

        let listed = try workspace.ocs(["builds", "list", "--product", "Exchange 2019", "--cu", "CU15"] + db)
        #expect(listed.status == 0)
        let lines = listed.output.split(separator: "\n")
        #expect(lines.first?.hasPrefix("NAME") == true)
        #expect(lines.last?.split(separator: " ", omittingEmptySubsequences: true).map(String.init) == ["Exchange2019", "CU15", "Nov26SU", "15.2.1748.55", "2026-11", "added"])
        #expect(lines.count == 15, "the header, CU15 and its thirteen updates")

        let imported = try workspace.ocs(["rules", "import", rule, "--publish", "--everyone"] + db)
        #expect(imported.status == 0, "\(imported.stderr)")
        let expected: [(String, Bool)] = [
            ("15.2.1748.10", true),   // CU15 itself
            ("15.2.1748.53", true),   // CU15 Sep26SUv2
            ("15.2.1748.55", false),  // CU15 Nov26SU, added at run time
            ("15.2.1748.60", false),
            ("15.2.1544.48", false),  // CU14: not named
            ("15.1.2507.75", false),
            ("15.2.2562.53", false),
        ]
        for (build, served) in expected {
            #expect(try Self.feedIDs(server, build).contains("CU15-NOV") == served, "\(build)")
        }
        let coverage = try workspace.ocs(["rules", "coverage", "CU15-NOV", "--json"] + db)
        #expect(coverage.status == 0)
        #expect(coverage.output.contains("\"inScope\" : 2"), "the two exposed hosts that polled: \(coverage.output)")

        let exported = try workspace.ocs(["rules", "export", workspace.folder.appendingPathComponent("out").path] + db)
        #expect(exported.status == 0, "\(exported.stderr)")
        let text = try String(contentsOfFile: workspace.folder.appendingPathComponent("out/CU15-NOV.yaml").path, encoding: .utf8)
        #expect(text.contains("Exchange 2019 CU15"), "the name is kept as written: \(text)")

        let described = try workspace.ocs(["builds", "describe", "15.2.1748.55"] + db)
        #expect(described.output == "Exchange 2019 CU15 Nov26SU\n")
    }

    @Test func warningsAtValidationRefusalAtPublishAndCSVAllOrNothing() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        let db = ["--db", workspace.database]
        let dead = try workspace.write("""
            id: DEAD
            description: Exchange 2016 with a 2019 range.
            applies:
              products: [Exchange2016]
              ranges:
                - from: Exchange2019 CU14
            actions:
              - type: DisableService
                service: MSExchangeTest
            """, to: "dead/DEAD.yaml")
        let validated = try workspace.ocs(["rules", "validate", dead] + db)
        #expect(validated.status == 0)
        #expect(validated.stderr.contains("DEAD.yaml:6: warning: applies.ranges[0]: matches no build of Exchange2016: it can match nothing"), "\(validated.stderr)")
        #expect(validated.output.contains("1 warning"))

        let refused = try workspace.ocs(["rules", "import", dead, "--publish", "--everyone"] + db)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("rule DEAD cannot be published: applies.ranges[0]"), "\(refused.stderr)")
        let drafted = try workspace.ocs(["rules", "import", dead] + db)
        #expect(drafted.status == 0)
        #expect(drafted.stderr.contains("warning: applies.ranges[0]"))
        let publish = try workspace.ocs(["rules", "publish", "DEAD", "--everyone"] + db)
        #expect(publish.status != 0)
        #expect(publish.stderr.contains("rule DEAD cannot be published"))

        let csv = try workspace.write("""
            product,cu,update,build,released
            Exchange2019,CU16,,15.2.1800.5,2026-12-01
            Exchange2019,CU16,Jan27SU,15.2.1800.2,2027-01
            Exchange2013,CU1,,15.0.1.1,2027-01
            """, to: "builds.csv")
        let failed = try workspace.ocs(["builds", "import", csv] + db)
        #expect(failed.status != 0)
        #expect(failed.stderr.contains("builds.csv:3: build 15.2.1800.2 is not above Exchange2019 CU16's own build 15.2.1800.5"), "\(failed.stderr)")
        #expect(failed.stderr.contains("builds.csv:4: unknown product 'Exchange2013'"))
        #expect(failed.stderr.contains("nothing was imported"))
        let cu16 = try workspace.ocs(["builds", "list", "--product", "Exchange2019", "--cu", "CU16"] + db)
        #expect(cu16.output.split(separator: "\n").count == 1, "only the header: nothing was added")

        let shared = try workspace.ocs(["builds", "import", SharedData.folder.appendingPathComponent("exchange-builds.csv").path] + db)
        #expect(shared.status == 0, "\(shared.stderr)")
        #expect(shared.output.contains("0 added"), "the shared catalog is the embedded one: \(shared.output)")
        _ = server
    }

    @Test func theAPIListsAddsAndRaisesTheSerialWhenAPublishedRuleChanges() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        var tokens: [String: String] = [:]
        for (name, role) in [("rita", "reader"), ("alice", "publisher"), ("adam", "admin")] {
            let created = try workspace.ocs("tokens", "create", "--name", name, "--role", role, "--db", workspace.database)
            tokens[name] = created.output.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        func call(_ method: String, _ path: String, _ token: String, json: String? = nil) throws -> CurlResponse {
            var options = ["-X", method, "-H", "Authorization: Bearer \(tokens[token] ?? "")"]
            if let json { options += ["-H", "Content-Type: application/json", "--data-binary", json] }
            return try Curl.request(server.baseURL + "/api/v1" + path, options)
        }
        func object(_ response: CurlResponse) throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: response.body) as? [String: Any] ?? [:]
        }

        let first = try call("GET", "/builds?product=Exchange2019&cu=CU15&limit=5", "rita")
        #expect(first.status == 200)
        let page = try object(first)
        #expect((page["items"] as? [[String: Any]])?.first?["name"] as? String == "Exchange2019 CU15")
        let next = try #require(page["next"] as? String)
        let second = try object(call("GET", "/builds?product=Exchange2019&cu=CU15&limit=5&cursor=\(next)", "rita"))
        #expect((second["items"] as? [[String: Any]])?.first?["update"] as? String == "Oct25SU")
        #expect(try call("GET", "/builds?product=Exchange2013", "rita").status == 400)

        let cu16 = #"{"product": "Exchange2019", "cu": "CU16", "build": "15.2.1800.5", "released": "2026-12-01"}"#
        #expect(try call("POST", "/builds", "alice", json: cu16).status == 403)
        let malformed = try call("POST", "/builds", "adam", json: #"[{"product": "Exchange2019"}, {"product": 1}]"#)
        #expect(malformed.status == 422)
        #expect(malformed.text.contains("\"field\" : \"[1]\""))

        // A draft with a warning is stored, says so, and cannot be published.
        let dead = #"{"id": "DEAD", "description": "d", "applies": {"products": ["Exchange2016"], "cus": ["Exchange2019 CU15"]}, "actions": [{"type": "DoNothing"}]}"#
        let put = try call("PUT", "/rules/DEAD", "alice", json: dead)
        #expect(put.status == 201)
        #expect(put.text.contains("is a CU of Exchange2019, which applies.products does not list"), "\(put.text)")
        let publish = try call("POST", "/rules/DEAD/publish", "alice", json: #"{"everyone": true}"#)
        #expect(publish.status == 409)
        #expect(publish.text.contains("rule DEAD cannot be published: applies.cus[0]"))

        // A rule exposed until Nov26SU, added through the API, then published.
        let nov = #"{"product": "Exchange2019", "cu": "CU15", "update": "Nov26SU", "build": "15.2.1748.55", "released": "2026-11"}"#
        #expect(try call("PUT", "/rules/NOV", "alice", json: #"{"id": "NOV", "description": "d", "applies": {"products": ["Exchange2019"], "fixedBy": "Nov26SU"}, "actions": [{"type": "DoNothing"}]}"#).status == 422)
        let addedNov = try call("POST", "/builds", "adam", json: "[\(nov)]")
        #expect(addedNov.status == 201, "\(addedNov.text)")
        #expect(try call("PUT", "/rules/NOV", "alice", json: #"{"id": "NOV", "description": "d", "applies": {"products": ["Exchange2019"], "fixedBy": "Nov26SU"}, "actions": [{"type": "DoNothing"}]}"#).status == 201)
        #expect(try call("POST", "/rules/NOV/publish", "alice", json: #"{"everyone": true}"#).status == 200)
        #expect(try Self.feedIDs(server, "15.2.1800.5").contains("NOV"), "an unlisted branch is exposed while no later CU is known")
        let before = try Self.serial(server)
        #expect(try object(call("GET", "/rules/NOV/impact", "rita"))["total"] as? Int == 1, "the host that polled on 15.2.1800.5")

        // CU16, released after Nov26SU, holds the fix: the rule no longer applies to its build.
        let addedCU16 = try call("POST", "/builds", "adam", json: cu16)
        #expect(addedCU16.status == 201)
        #expect(try object(addedCU16)["serialRaised"] as? Bool == true)
        #expect(try Self.serial(server) == before + 1)
        #expect(try !Self.feedIDs(server, "15.2.1800.5").contains("NOV"))
        #expect(try object(call("GET", "/rules/NOV/impact", "rita"))["total"] as? Int == 0, "impact judges by the catalog in effect")
        let host = try object(call("GET", "/hosts/EX-15-2-1800-5", "rita"))
        #expect((host["host"] as? [String: Any])?["buildName"] as? String == "Exchange 2019 CU16")
        #expect(try call("POST", "/builds", "adam", json: cu16).status == 200, "adding a listed row again changes nothing")

        let audit = try call("GET", "/audit", "rita").text
        #expect(audit.contains("ok: Exchange2019 CU16 15.2.1800.5 released 2026-12-01"))
        #expect(audit.contains("\"action\" : \"catalog.add\""))
    }
}
