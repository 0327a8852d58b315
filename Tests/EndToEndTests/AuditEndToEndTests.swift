import Foundation
import OCSTestSupport
import Testing

/// The audit trail against forged lines and floods, and token listing, through the real server and CLI.
@Suite(.serialized)
struct AuditEndToEndTests {
    typealias Fixture = AdminAPIEndToEndTests.Fixture

    func auditJSON(_ fixture: Fixture) throws -> [[String: Any]] {
        let result = try fixture.workspace.ocs("audit", "--json", "--db", fixture.workspace.database)
        try #require(result.status == 0, "\(result.stderr)")
        return try JSONSerialization.jsonObject(with: result.stdout) as? [[String: Any]] ?? []
    }

    func auditText(_ fixture: Fixture) throws -> String {
        let result = try fixture.workspace.ocs("audit", "--db", fixture.workspace.database)
        try #require(result.status == 0, "\(result.stderr)")
        return result.output
    }

    /// The issue's exact request: a reader's PUT whose id carries a newline and a fake entry.
    @Test func aNewlineInARuleIdForgesNoAuditEntry() throws {
        let fixture = try Fixture()
        let before = try auditJSON(fixture).count
        let attack = "/rules/M1%0A2026-01-01T00:00:00Z%20%20admin%20%20rule.publish%20%20EVIL%20%20ok"
        for token in ["rita", "alice"] {
            let response = try fixture.call("PUT", attack, token: token, json: AdminAPIEndToEndTests.rule("M1", "x"))
            #expect(response.status == 400, "\(token): \(response.text)")
            #expect(response.text.contains("is not a valid rule id"))
        }
        #expect(try fixture.call("GET", "/rules/M1%0AX", token: "rita").status == 400)
        #expect(try fixture.call("DELETE", "/tokens/a%0Ab", token: "adam").status == 400)

        let text = try auditText(fixture)
        #expect(!text.contains("EVIL"), "\(text)")
        #expect(!text.split(separator: "\n").contains { $0.hasPrefix("2026-01-01T00:00:00Z") })
        #expect(try auditJSON(fixture).count == before, "a refused name is not audited")
    }

    @Test func aSeventyThousandByteIdIsRefusedAndNotStored() throws {
        let fixture = try Fixture()
        let before = try auditJSON(fixture).count
        let id = String(repeating: "A", count: 70_000)
        for (method, token) in [("DELETE", "alice"), ("PUT", "rita"), ("POST", "alice")] {
            let path = method == "POST" ? "/rules/\(id)/publish" : "/rules/\(id)"
            let response = try fixture.call(method, path, token: token, json: method == "PUT" ? "{}" : nil)
            #expect([400, 414].contains(response.status), "\(method): \(response.status)")
            #expect(response.body.count < 1_000, "the error does not echo the whole id")
        }
        let entries = try auditJSON(fixture)
        #expect(entries.count == before)
        #expect(!entries.contains { "\($0)".contains("AAAAAAAAAA") })
        let longest = try Command.run("sqlite3", [fixture.workspace.database, "SELECT max(length(rule_id)), max(length(outcome)) FROM audit_log"])
        #expect(longest.output.split(separator: "|").allSatisfy { Int($0.trimmingCharacters(in: .whitespacesAndNewlines))! <= 400 }, "\(longest.output)")
    }

    /// What a refused call quotes of its input (here a body's rule id) is stored escaped and bounded.
    @Test func aRefusedCallsQuotedInputIsEscapedAndBounded() throws {
        let fixture = try Fixture()
        let id = "X\\n2026-01-01T00:00:00Z  admin  rule.publish  EVIL  ok" + String(repeating: "B", count: 5_000)
        let response = try fixture.call("PUT", "/rules/M7", token: "alice", json: AdminAPIEndToEndTests.rule(id, "x"))
        #expect(response.status == 422)
        let refused = try #require(try auditJSON(fixture).last)
        #expect(refused["ruleID"] as? String == "M7")
        let outcome = try #require(refused["outcome"] as? String)
        #expect(outcome.hasPrefix("refused: 422 id: "), "the refusal's field and words are audited: \(outcome)")
        #expect(!outcome.contains("\n") && outcome.utf8.count <= 400, "\(outcome)")
        let text = try auditText(fixture)
        #expect(!text.split(separator: "\n").contains { $0.hasPrefix("2026-01-01T00:00:00Z") })
    }

    /// Rows an older version stored raw are still printed one entry per line, with nothing raw.
    @Test func ocsAuditEscapesControlCharactersItFindsStored() throws {
        let fixture = try Fixture()
        let inserted = try Command.run("sqlite3", [
            fixture.workspace.database,
            "INSERT INTO audit_log (time, actor, action, rule_id, outcome) VALUES ('2026-02-02T00:00:00.000Z', 'rita', 'rule.put', 'M1' || char(10) || '2026-01-01T00:00:00Z  admin  rule.publish  EVIL  ok', 'refused: 403' || char(27) || '[2J' || char(9) || 'x')",
        ])
        try #require(inserted.status == 0, "\(inserted.stderr)")
        let text = try auditText(fixture)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == (try auditJSON(fixture).count) + 1, "a header, then one line per entry:\n\(text)")
        let row = try #require(lines.first { $0.contains("EVIL") })
        #expect(row.contains(#"M1\n2026-01-01T00:00:00Z"#))
        #expect(row.contains(#"refused: 403\u{1B}[2J\tx"#))
        #expect(!text.unicodeScalars.contains { $0.properties.generalCategory == .control && $0 != "\n" })
    }

    /// A revoked name can be reused; the CLI and the API list the same tokens, live by default.
    @Test func revokedNamesAreReusableAndBothListsAgree() throws {
        let fixture = try Fixture()
        let db = fixture.workspace.database
        let reused = try fixture.workspace.ocs("tokens", "create", "--name", "gone", "--role", "reader", "--db", db)
        #expect(reused.status == 0, "\(reused.stderr)")
        let again = try fixture.workspace.ocs("tokens", "create", "--name", "gone", "--role", "reader", "--db", db)
        #expect(again.status != 0 && again.stderr.contains("a live token named 'gone' exists already"))
        #expect(try fixture.call("POST", "/tokens", token: "adam", json: #"{"name": "gone", "role": "admin"}"#).status == 409)
        #expect(try fixture.call("DELETE", "/tokens/gone", token: "adam").status == 204)
        let viaAPI = try fixture.call("POST", "/tokens", token: "adam", json: #"{"name": "gone", "role": "admin"}"#)
        #expect(viaAPI.status == 201, "\(viaAPI.text)")

        func apiList(_ query: String) throws -> [String] {
            let body = try fixture.call("GET", "/tokens" + query, token: "adam").body
            let tokens = try JSONSerialization.jsonObject(with: body) as? [[String: Any]] ?? []
            return tokens.map { "\($0["name"]!) \($0["role"]!) \($0["revokedAt"] == nil || $0["revokedAt"] is NSNull ? "live" : "revoked")" }
        }
        func cliList(_ flags: [String]) throws -> [String] {
            let result = try Command.run(Command.ocs, ["tokens", "list", "--db", db] + flags)
            return result.output.split(separator: "\n").dropFirst().map { line in
                let cells = line.split(separator: " ", omittingEmptySubsequences: true)
                return "\(cells[0]) \(cells[1]) \(cells[3] == "live" ? "live" : "revoked")"
            }
        }
        let live = ["adam admin live", "alice publisher live", "gone admin live", "rita reader live"]
        #expect(try apiList("") == live)
        #expect(try cliList([]) == live)
        let all = ["adam admin live", "alice publisher live", "gone admin revoked", "gone reader revoked", "gone admin live", "rita reader live"]
        #expect(try apiList("?all=true") == all)
        #expect(try cliList(["--all"]) == all)
        #expect(try fixture.call("GET", "/tokens?all=yes", token: "adam").status == 400)
    }
}
