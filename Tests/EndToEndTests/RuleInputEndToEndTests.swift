import Foundation
import OCSTestSupport
import Testing

/// Hostile and sloppy rules through the real binary: `ocs rules validate` and the admin API.
@Suite(.serialized)
struct RuleInputEndToEndTests {
    /// The issue's 801-byte bomb: anchors on nested lists, the deepest used as a mapping key.
    static func aliasBomb(depth: Int = 34) -> String {
        var lines = ["id: BOMB", "description: d", "actions: [{type: DoNothing}]", "a0: &a0 [lol, lol]"]
        for level in 1..<depth { lines.append("a\(level): &a\(level) [*a\(level - 1), *a\(level - 1)]") }
        lines += ["? *a\(depth - 1)", ": x"]
        return lines.joined(separator: "\n") + "\n"
    }

    @Test func validateRefusesTheAliasBomb() throws {
        let workspace = try Workspace()
        let bomb = try workspace.write(Self.aliasBomb(), to: "bomb.yaml")
        // Before the fix this ran past Command.run's 60 s limit, which fails the test by throwing.
        let result = try workspace.ocs("rules", "validate", bomb)
        #expect(result.status == 1)
        #expect(result.stderr == "\(bomb):4: anchors (&) and aliases (*) are not allowed in rule files: write each value out, or quote text that starts with &\n")
    }

    @Test func validatePrintsEveryProblemOfAFileWithItsLine() throws {
        let workspace = try Workspace()
        let file = try workspace.write("""
            id: M5
            description: Four rounds to fix
            applies:
              products: [Exchange2013]
              fixedby: Oct22SU
            actions:
              - type: DisableService
                service: null
                descripton: stop it
            """, to: "m5.yaml")
        let result = try workspace.ocs("rules", "validate", file)
        #expect(result.status == 1)
        #expect(result.stderr.split(separator: "\n").map(String.init) == [
            "\(file):4: applies.products[0]: 'Exchange2013' is not one of Exchange2016, Exchange2019, ExchangeSE",
            "\(file):5: applies.fixedby: unknown field 'fixedby' in applies: did you mean 'fixedBy'?",
            "\(file):8: actions[0].service: expected text, found null: quote it if you mean the text",
            "\(file):9: actions[0].descripton: unknown field 'descripton' in a DisableService action: did you mean 'description'?",
        ])
    }

    @Test func putDecodesJSONAsJSONAndListsEveryProblem() throws {
        let fixture = try AdminAPIEndToEndTests.Fixture()
        let created = try fixture.call("PUT", "/rules/U1", token: "alice", json: #"{"id": "U1", "description": "\ud83d\udca9 pile", "actions": [{"type": "DoNothing"}]}"#)
        #expect(created.status == 201, "\(created.text)")
        let stored = try JSONSerialization.jsonObject(with: fixture.call("GET", "/rules/U1", token: "rita").body) as? [String: Any]
        #expect((stored?["rule"] as? [String: Any])?["description"] as? String == "💩 pile")

        let refused = try fixture.call("PUT", "/rules/N1", token: "alice", json: #"""
            {"id": "N1", "description": null, "colour": "red", "actions": [{"type": "DisableService", "service": null}, {"type": "DisableAppPool", "appPool": 42}]}
            """#)
        #expect(refused.status == 422)
        let problems = try JSONSerialization.jsonObject(with: refused.body) as? [[String: String]] ?? []
        #expect(problems.map { "\($0["field"]!): \($0["message"]!)" } == [
            "colour: unknown field 'colour': expected one of id, description, references, state, applies, actions",
            "description: expected text, found null: quote it if you mean the text",
            "actions[0].service: expected text, found null: quote it if you mean the text",
            "actions[1].appPool: expected text, found the number 42: quote it if you mean the text",
        ])
        #expect(try fixture.call("GET", "/rules/N1", token: "rita").status == 404, "a refused rule is not stored")
    }

    @Test func putRefusesRulesBeyondTheLimits() throws {
        let fixture = try AdminAPIEndToEndTests.Fixture()
        let action = #"{"type": "DoNothing"}"#
        let many = #"{"id": "L1", "description": "d", "actions": ["# + Array(repeating: action, count: 33).joined(separator: ",") + "]}"
        let tooMany = try fixture.call("PUT", "/rules/L1", token: "alice", json: many)
        #expect(tooMany.status == 422)
        #expect((try JSONSerialization.jsonObject(with: tooMany.body) as? [[String: String]])?.map { $0["field"]! } == ["actions"])

        let large = try fixture.workspace.write(#"{"id": "L1", "description": ""# + String(repeating: "x", count: 70_000) + #"", "actions": [\#(action)]}"#, to: "large.json")
        let tooLarge = try fixture.call("PUT", "/rules/L1", token: "alice", json: "@\(large)")
        #expect(tooLarge.status == 413)
        #expect(tooLarge.text.contains("a rule may hold at most 65536"))
        #expect(try fixture.call("GET", "/rules/L1", token: "rita").status == 404)
    }
}
