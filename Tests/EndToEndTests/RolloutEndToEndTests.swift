import Foundation
import OCSTestSupport
import Testing

/// Staged rollout, reasons and two-person approval against the real server and CLI.
@Suite(.serialized)
struct RolloutEndToEndTests {
    typealias Fixture = AdminAPIEndToEndTests.Fixture

    static let lab = "serverId=0a1b2c3d-0000-4000-8000-000000000001&server=ex19-lab01"
    static let prod = "serverId=0a1b2c3d-0000-4000-8000-000000000002&server=EX19-PROD01"

    static func ids(_ fixture: Fixture, _ identity: String?) throws -> [String] {
        let query = ["build=15.2.1118.7", identity].compactMap { $0 }.joined(separator: "&")
        return try XMLLint.configIDs(Curl.request(fixture.server.baseURL + "/getexchangemitigations?" + query).body)
    }

    static func json(_ response: CurlResponse) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: response.body) as? [String: Any] ?? [:]
    }

    static func serial(_ fixture: Fixture) throws -> Int {
        Int(try Curl.request(fixture.server.baseURL + "/getexchangemitigations").text.split(separator: "serial=\"")[1].prefix { $0 != "\"" })!
    }

    @Test func aCanaryGroupReceivesARuleOtherHostsAndAnonymousPollsDoNotUntilPromotion() throws {
        let fixture = try Fixture()
        #expect(try fixture.call("POST", "/groups", token: "alice", json: #"{"name": "canary", "names": ["EX19-LAB*"]}"#).status == 201)
        #expect(try fixture.call("POST", "/groups", token: "rita", json: #"{"name": "ring1", "names": ["EX19-*"]}"#).status == 403)
        #expect(try fixture.call("POST", "/groups", token: "alice", json: #"{"name": "bad", "names": ["EX19;*"]}"#).status == 422)
        #expect(try fixture.call("PUT", "/rules/C1", token: "alice", json: AdminAPIEndToEndTests.rule("C1", "canary first")).status == 201)
        #expect(try fixture.call("POST", "/rules/C1/publish", token: "alice", json: #"{"to": ["nogroup"]}"#).status == 422)
        let start = try Self.serial(fixture)

        let published = try fixture.call("POST", "/rules/C1/publish?reason=CHG-1001", token: "alice", json: #"{"to": ["canary"]}"#)
        #expect(published.status == 200)
        #expect(((try Self.json(published))["release"] as? [String: Any])?["groups"] as? [String] == ["canary"])
        #expect(try Self.serial(fixture) == start + 1)
        #expect(try Self.ids(fixture, Self.lab) == ["C1", "M1", "PING1"], "the canary host receives it")
        #expect(try Self.ids(fixture, "server=EX19-LAB02") == ["C1", "M1", "PING1"], "names match in any case, by pattern")
        #expect(try Self.ids(fixture, Self.prod) == ["M1", "PING1"], "a host outside the group does not")
        #expect(try Self.ids(fixture, nil) == ["M1", "PING1"], "an anonymous poll does not")
        let db = ["--db", fixture.workspace.database]
        #expect(try XMLLint.configIDs(fixture.workspace.ocs(["feed", "--build", "15.2.1118.7", "--server", "EX19-LAB07"] + db).stdout) == ["C1", "M1", "PING1"])
        #expect(try XMLLint.configIDs(fixture.workspace.ocs(["feed", "--build", "15.2.1118.7"] + db).stdout) == ["M1", "PING1"])

        let coverage = try Self.json(fixture.call("GET", "/rules/C1/coverage", token: "rita"))
        #expect((coverage["release"] as? [String: Any])?["everyone"] as? Bool == false)
        let staged = coverage["hosts"] as? [String: Any]
        #expect(staged?["total"] as? Int == 3 && staged?["inScope"] as? Int == 2 && staged?["notApplicable"] as? Int == 1, "only the canary hosts count: \(staged ?? [:])")
        #expect(try fixture.call("DELETE", "/groups/canary", token: "alice").status == 409, "a group in use stays")

        let promoted = try fixture.call("POST", "/rules/C1/promote", token: "alice", json: #"{"everyone": true}"#)
        #expect(promoted.status == 200)
        #expect(try Self.serial(fixture) == start + 2)
        #expect(try Self.ids(fixture, Self.prod) == ["C1", "M1", "PING1"])
        #expect(try Self.ids(fixture, nil) == ["C1", "M1", "PING1"])
        #expect(try fixture.call("POST", "/rules/C1/promote", token: "alice", json: #"{"everyone": true}"#).status == 409)
        let widened = try Self.json(fixture.call("GET", "/rules/C1/coverage", token: "rita"))["hosts"] as? [String: Any]
        #expect(widened?["inScope"] as? Int == 3)

        let audit = try fixture.call("GET", "/audit?rule=C1", token: "rita").text
        #expect(audit.contains("released to groups canary") && audit.contains("rule.promote") && audit.contains("\"reason\" : \"CHG-1001\""))
        #expect(try fixture.call("DELETE", "/groups/canary?reason=CHG-1002", token: "alice").status == 204)
        #expect((try Self.json(fixture.call("GET", "/groups", token: "rita"))["items"] as? [Any])?.isEmpty == true)
    }

    @Test func theCommandLineStagesARuleAndRefusesToPublishToEveryoneByAccident() throws {
        let workspace = try Workspace()
        let db = ["--db", try workspace.createDatabase()]
        let imported = try workspace.ocs(["rules", "import", workspace.rules, "--publish"] + db)
        #expect(imported.status != 0 && imported.stderr.contains("--publish needs --to GROUPS"), "\(imported.stderr)")
        #expect(try workspace.ocs(["rules", "import", workspace.rules] + db).status == 0)
        let draft = try workspace.ocs(["rules", "publish", "WEB1"] + db)
        let drafts = try workspace.ocs(["rules", "list"] + db).output.split(separator: "\n").filter { $0.contains("draft") }.map { String($0.prefix { $0 != " " }) }
        let id = drafts.first ?? "none"
        let unstaged = try workspace.ocs(["rules", "publish", id] + db)
        #expect(unstaged.status != 0 && unstaged.stderr.contains("--to GROUPS"), "\(draft.stderr) \(unstaged.stderr)")
        let group = try workspace.ocs(["groups", "create", "canary", "--names", "EX19-LAB*,EX16-LAB?", "--reason", "CHG-7"] + db)
        #expect(group.status == 0, "\(group.stderr)")
        #expect(try workspace.ocs(["groups", "create", "org1", "--org", "{6F1D2C3B-0A4E-4B5C-9D8E-7F6A5B4C3D2E}"] + db).output.contains("org 6f1d2c3b-0a4e-4b5c-9d8e-7f6a5b4c3d2e"))
        #expect(try workspace.ocs(["groups", "create", "few", "--hosts", "99"] + db).stderr.contains("no host with id 99"))
        #expect(try workspace.ocs(["rules", "publish", id, "--to", "canary"] + db).output == "published \(id) at revision 1 to groups canary\n")
        #expect(try workspace.ocs(["rules", "list"] + db).output.contains("groups canary"))
        #expect(try workspace.ocs(["groups", "delete", "canary"] + db).stderr.contains("promote or retire it first"))
        #expect(try workspace.ocs(["rules", "promote", id, "--to", "org1"] + db).output == "promoted \(id): released to groups canary,org1\n")
        #expect(try workspace.ocs(["rules", "promote", id, "--everyone", "--reason", "INC-9"] + db).output == "promoted \(id): released to everyone\n")
        #expect(try workspace.ocs(["groups", "list"] + db).output.contains("EX19-LAB*,EX16-LAB?"))
        let audit = try workspace.ocs(["audit"] + db).output
        #expect(audit.contains("group.create") && audit.contains("CHG-7") && audit.contains("INC-9"))
        let bad = try workspace.ocs(["groups", "delete", "canary", "--reason", "two\nlines"] + db)
        #expect(bad.status != 0 && bad.stderr.contains("control"))
        #expect(try workspace.ocs(["groups", "show", "canary"] + db).status == 0, "a refused reason changes nothing")
    }

    @Test func approvalIsRefusedToTheAuthorAndGrantedToASecondPublisher() throws {
        let fixture = try Fixture()
        let bob = try fixture.workspace.ocs("tokens", "create", "--name", "bob", "--role", "publisher", "--db", fixture.workspace.database)
        fixture.tokens["bob"] = bob.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try fixture.call("PUT", "/policy", token: "alice", json: #"{"require-approval": "on"}"#).status == 403)
        #expect(try fixture.call("PUT", "/policy?reason=SEC-1", token: "adam", json: #"{"require-approval": "on"}"#).status == 200)
        #expect(try Self.json(fixture.call("GET", "/policy", token: "rita"))["require-approval"] as? Bool == true)
        #expect(try fixture.call("PUT", "/rules/A1", token: "alice", json: AdminAPIEndToEndTests.rule("A1", "two people")).status == 201)

        let asked = try fixture.call("POST", "/rules/A1/publish?reason=INC-5", token: "alice", json: #"{"everyone": true}"#)
        #expect(asked.status == 202)
        let change = try Self.json(asked)
        let number = change["id"] as? Int ?? 0
        #expect(change["state"] as? String == "pending" && change["author"] as? String == "alice")
        #expect(try Self.ids(fixture, nil) == ["M1", "PING1"], "nothing changed yet")

        let own = try fixture.call("POST", "/changes/\(number)/approve", token: "alice")
        #expect(own.status == 403 && own.text.contains("another publisher or admin"))
        #expect(try fixture.call("POST", "/changes/\(number)/approve", token: "rita").status == 403)
        #expect(try fixture.call("POST", "/changes/\(number)/approve", token: "bob").status == 200)
        #expect(try Self.ids(fixture, nil) == ["A1", "M1", "PING1"])
        #expect(try fixture.call("POST", "/changes/\(number)/approve", token: "adam").status == 409, "decided already")
        let listed = try Self.json(fixture.call("GET", "/changes?state=approved", token: "rita"))
        #expect((listed["items"] as? [[String: Any]])?.first?["decidedBy"] as? String == "bob")

        // Retire asked, then rejected: nothing happens.
        let retire = try Self.json(fixture.call("POST", "/rules/A1/retire", token: "bob"))
        #expect(try fixture.call("POST", "/changes/\(retire["id"] as? Int ?? 0)/reject", token: "alice").status == 200)
        #expect(try Self.ids(fixture, nil) == ["A1", "M1", "PING1"])

        // Emergency: an admin alone, with a reason.
        #expect(try fixture.call("POST", "/rules/A1/retire?reason=INC-6", token: "alice", json: #"{"emergency": true}"#).status == 403)
        #expect(try fixture.call("POST", "/rules/A1/retire", token: "adam", json: #"{"emergency": true}"#).status == 400)
        #expect(try fixture.call("POST", "/rules/A1/retire?reason=INC-6", token: "adam", json: #"{"emergency": true}"#).status == 200)
        #expect(try Self.ids(fixture, nil) == ["M1", "PING1"])
        let audit = try fixture.call("GET", "/audit?rule=A1", token: "rita").text
        #expect(audit.contains("ok: emergency") && audit.contains("INC-6") && audit.contains("change.approve"))

        // The command line goes through approval too.
        let cli = try fixture.workspace.ocs("rules", "publish", "A1", "--everyone", "--db", fixture.workspace.database)
        #expect(cli.output.contains("awaits approval"), "\(cli.stderr)")
        let emergency = try fixture.workspace.ocs("rules", "publish", "A1", "--everyone", "--emergency", "--db", fixture.workspace.database)
        #expect(emergency.status != 0 && emergency.stderr.contains("--emergency needs --reason"))
    }

    @Test func aBadReasonIsRefusedBeforeAnythingChanges() throws {
        let fixture = try Fixture()
        let long = String(repeating: "x", count: 257)
        for reason in ["INC%0A1", long, ""] {
            let response = try fixture.call("POST", "/rules/M1/retire?reason=\(reason)", token: "alice")
            #expect(response.status == 400, "\(reason.prefix(10))")
        }
        #expect(try Self.ids(fixture, nil) == ["M1", "PING1"])
    }
}
