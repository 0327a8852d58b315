import Foundation
import OCSDomain
import Testing
@testable import OCSRuleFiles

/// Hostile and sloppy rule input: YAML bombs, oversize and deep documents, wrong types, limits,
/// and files with many problems, which must all be reported in one run.
struct RuleInputTests {
    static let valid = "id: OK1\ndescription: fine\nactions:\n  - type: DoNothing\n"

    /// `line: field: message` for every problem of `text`, or [] when it decodes.
    func problems(_ text: String) -> [String] {
        switch RuleDocumentDecoder().decode(text, file: "rule.yaml") {
        case .success: []
        case .failure(let invalid): invalid.problems.map { "\($0.line): \($0.field.isEmpty ? "" : $0.field + ": ")\($0.message)" }
        }
    }

    /// `field: message` for every problem of a JSON body, or [] when it decodes.
    func problems(json: String) -> [String] {
        switch RuleDocumentDecoder().decode(json: Array(json.utf8)) {
        case .success: []
        case .failure(.invalid(let problems)): problems.map(\.description)
        case .failure(let refusal): ["refused: \(refusal)"]
        }
    }

    /// The issue's attack: anchors on lists nested `depth` deep, the last used as a mapping key.
    /// Composing it hashes 2^depth nodes; at depth 25 that took 15.8 s, deeper ran past a minute.
    static func aliasBomb(depth: Int) -> String {
        var lines = ["id: BOMB", "description: d", "actions: [{type: DoNothing}]", "a0: &a0 [lol, lol]"]
        for level in 1..<depth { lines.append("a\(level): &a\(level) [*a\(level - 1), *a\(level - 1)]") }
        lines += ["? *a\(depth - 1)", ": x"]
        return lines.joined(separator: "\n") + "\n"
    }

    static let anchorMessage = "anchors (&) and aliases (*) are not allowed in rule files"

    // MARK: YAML bombs

    @Test func refusesTheAliasBombBeforeComposingIt() {
        let bomb = Self.aliasBomb(depth: 34)
        #expect((780...820).contains(bomb.utf8.count), "the issue's bomb was 801 bytes")
        let found = problems(bomb)
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("4: \(Self.anchorMessage)") == true)
    }

    @Test(arguments: [
        ("description: &d text\n", 1),
        ("description: text\nactions:\n  - *d\n", 3),
        ("description: [a, *d]\n", 1),
        ("description: {k: *d}\n", 1),
        ("description: {\"k\":*d}\n", 1),
        ("description: !!str &d text\n", 1),
        ("? *d\n: x\n", 1),
        ("*d : x\n", 1),
        ("actions:\n  - type: DoNothing\n    description: |\n      text\n    *d : x\n", 5),
        ("--- &d\nid: X\n", 1),
        ("description: \"multi\n  line\" \nrefs: [\n  &d x]\n", 4),
        ("description: x\r*d : y\r", 2),
    ])
    func refusesEveryAnchorAndAlias(text: String, line: Int) {
        #expect(problems(text).first?.hasPrefix("\(line): \(Self.anchorMessage)") == true, "\(text)")
    }

    @Test(arguments: [
        "description: Tom & Jerry * 2\n",
        "description: \"*starts with a star\"\n",
        "description: '&amp; *x'\n",
        "description: a*b&c # comment with *alias and &anchor\n",
        "description: |\n  * first point\n  & second\n",
        "description: >-\n  *folded*\n\n  &more\n",
        "references: [a*b, c&d]\ndescription: d\n",
    ])
    func acceptsStarsAndAmpersandsInText(text: String) {
        let rule = text + "id: X\nactions:\n  - type: IISUrlRewrite\n    scope: Server\n    rule: {name: n, input: i, pattern: .*autodiscover\\.json.*, action: AbortRequest}\n"
        #expect(problems(rule) == [])
    }

    @Test func acceptsThePatternsOfTheShippedStyle() throws {
        let text = "id: X\ndescription: d\nactions:\n  - type: IISUrlRewrite\n    scope: Server\n    rule:\n      name: n\n      input: i\n      pattern: .*autodiscover\\.json.*Powershell.*\n      action: AbortRequest\n"
        let rule = try RuleDocumentDecoder().decode(text, file: "x").get().rule
        guard case .iisUrlRewrite(let rewrite, _) = rule.actions.first else { Issue.record("not a rewrite"); return }
        #expect(rewrite.rule.pattern == #".*autodiscover\.json.*Powershell.*"#)
    }

    @Test func refusesDeepNestingWithoutRecursingIntoIt() {
        #expect(problems("description: " + String(repeating: "[", count: 20) + String(repeating: "]", count: 20) + "\n").first?
            .hasPrefix("1: the file nests more than 16 levels deep") == true)
        let deep = "description: " + String(repeating: "[", count: 30_000) + String(repeating: "]", count: 30_000) + "\n"
        #expect(problems(deep).first?.contains("nests more than 16 levels deep") == true)
        var block = ""
        for level in 0..<20 { block += String(repeating: " ", count: level * 2) + "k\(level):\n" }
        #expect(problems(block).first?.contains("nests more than 16 levels deep") == true)
    }

    @Test func refusesAnOversizeFile() {
        let text = Self.valid + "# " + String(repeating: "x", count: 70_000) + "\n"
        #expect(problems(text) == ["1: the file is \(text.utf8.count) bytes: a rule file may hold at most 65536"])
    }

    // MARK: Types

    @Test(arguments: [
        ("~", "null"), ("null", "null"), ("", "null"), ("123", "the number 123"), ("1.5", "the number 1.5"),
        ("true", "the boolean true"), ("no", "the boolean no"),
    ])
    func refusesNonTextForATextField(value: String, found: String) {
        let text = "id: X\ndescription: d\nactions:\n  - type: DisableService\n    service: \(value)\n"
        #expect(problems(text) == ["5: actions[0].service: expected text, found \(found): quote it if you mean the text"])
    }

    @Test func acceptsQuotedScalarsAsText() throws {
        let text = "id: '123'\ndescription: \"null\"\nactions:\n  - type: DisableService\n    service: !!str true\n"
        let rule = try RuleDocumentDecoder().decode(text, file: "x").get().rule
        #expect(rule.id == "123")
        #expect(rule.description == "null")
        #expect(rule.actions == [.disableService("true", description: nil)])
    }

    @Test func refusesListsAndMappingsWhereTextBelongs() {
        #expect(problems("id: X\ndescription: [a, b]\nactions:\n  - type: DoNothing\n") == ["2: description: expected text, found a list"])
        #expect(problems("id: X\ndescription: d\nactions:\n  type: DoNothing\n") == ["3: actions: expected a list, found a mapping"])
    }

    // MARK: Every problem at once

    @Test func reportsEveryProblemOfAFileInOneRun() {
        // The issue's file: it took four rounds of `ocs rules validate` to fix.
        let text = """
            id: M5
            description: Four rounds to fix
            applies:
              products: [Exchange2013, exchange2019]
              fixedby: Oct22SU
            actions:
              - type: DisableService
                descripton: stop it
            """
        #expect(problems(text) == [
            "4: applies.products[0]: 'Exchange2013' is not one of Exchange2016, Exchange2019, ExchangeSE",
            "4: applies.products[1]: 'exchange2019' is not one of Exchange2016, Exchange2019, ExchangeSE: did you mean 'Exchange2019'?",
            "5: applies.fixedby: unknown field 'fixedby' in applies: did you mean 'fixedBy'?",
            "7: actions[0].service: missing required field 'service'",
            "8: actions[0].descripton: unknown field 'descripton' in a DisableService action: did you mean 'description'?",
        ])
    }

    @Test func reportsDecodingAndValidationProblemsTogether() {
        let text = "id: bad id\ndescription: d\nstate: Published\nactions:\n  - type: IISUrlRewrite\n    scope: Site\n    rule:\n      name: n\n      input: i\n      pattern: \"(\"\n      action: Redirect\n"
        let expected = [
            "1: id: 'bad id' is not a valid id: use 1 to 64 of A-Z a-z 0-9 . _ -",
            "3: state: 'Published' is not one of draft, published, retired: did you mean 'published'?",
            "5: actions[0].site: is required when scope is Site",
            "10: actions[0].rule.pattern: is not a valid regular expression",
            "11: actions[0].rule.action: 'Redirect' is not supported: use AbortRequest",
        ]
        let found = problems(text)
        #expect(found.count == expected.count, "\(found)")
        for (line, prefix) in zip(found, expected) { #expect(line.hasPrefix(prefix)) }
    }

    @Test func capsTheProblemsReported() {
        let text = Self.valid + (0..<80).map { "extra\($0): x\n" }.joined()
        let found = problems(text)
        #expect(found.count == 51)
        #expect(found.last == "54: 30 more problems not shown: fix these and check again")
    }

    @Test func refusesNonTextFieldNames() {
        #expect(problems(Self.valid + "[a]: x\n") == ["5: a field name must be text, not a list or mapping"])
    }

    // MARK: JSON bodies

    @Test func decodesJSONAsJSON() throws {
        let body = #"{"id": "J1", "description": "\ud83d\udca9 and \u00e9", "actions": [{"type": "DoNothing"}]}"#
        let rule = try RuleDocumentDecoder().decode(json: Array(body.utf8)).get()
        #expect(rule.description == "💩 and é")
    }

    @Test func refusesJSONNullNumbersAndBooleansForText() {
        let body = #"{"id": 7, "description": null, "references": [true], "actions": [{"type": "DisableService", "service": 1.5}]}"#
        #expect(problems(json: body) == [
            "id: expected text, found the number 7: quote it if you mean the text",
            "description: expected text, found null: quote it if you mean the text",
            "references[0]: expected text, found the boolean true: quote it if you mean the text",
            "actions[0].service: expected text, found the number 1.5: quote it if you mean the text",
        ])
    }

    @Test func refusesOversizeDeepAndMalformedJSON() {
        let large = #"{"id": "J", "description": ""# + String(repeating: "x", count: 70_000) + #"", "actions": []}"#
        guard case .failure(.tooLarge(let size)) = RuleDocumentDecoder().decode(json: Array(large.utf8)) else {
            Issue.record("a 70 KB body was not refused as too large"); return
        }
        #expect(size == large.utf8.count)
        let deep = #"{"id": "J", "description": "#, close = "}"
        #expect(problems(json: deep + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + close)
            == ["the body nests more than 16 levels deep: a rule needs five"])
        #expect(problems(json: #"{"id": "J","#) == ["refused: malformed"])
        #expect(problems(json: #"{"id": "\ud83d", "description": "d", "actions": []}"#) == ["refused: malformed"], "a lone surrogate is not JSON")
    }
}
