import Foundation
import OCSDomain
import Testing
@testable import OCSRuleFiles

/// One schema per rule: every field of the Codable schema (`Mitigation+Codable`) reaches the input
/// decoder. The cases are generated from the schema's coding keys, each through an exhaustive
/// switch, so a field added to the schema needs a case here to compile, and then fails until the
/// input decoder reads it.
struct SchemaRoundTripTests {
    /// One field set to a value other than its default in an otherwise minimal valid rule.
    struct FieldCase: CustomTestStringConvertible, Sendable {
        /// Where the field is in a document, list entries as `[]`: `actions[].rule.pattern`.
        let path: String
        let rule: Mitigation
        var testDescription: String { "\(path) in \(rule.id)" }
    }

    static let base = Mitigation(id: "BASE", description: "base", actions: [.doNothing(description: nil)])
    static let rewriteRule = UrlRewrite.Rule(name: "block", input: "{URL}", pattern: "^/x$", action: UrlRewrite.Rule.actions[0])

    static let cases: [FieldCase] = {
        var cases = Mitigation.CodingKeys.allCases.flatMap(ruleCases)
        cases += Applicability.CodingKeys.allCases.flatMap(applicabilityCases)
        cases += BuildRange.CodingKeys.allCases.flatMap(rangeCases)
        cases += MitigationAction.CodingKeys.allCases.flatMap(actionCases)
        cases += UrlRewrite.Rule.CodingKeys.allCases.flatMap(rewriteRuleCases)
        // Ids tell the cases apart in failures and keep each rule distinct from the base.
        return cases.enumerated().map { index, field in
            var rule = field.rule
            if rule.id == base.id { rule.id = "CASE-\(index)" }
            return FieldCase(path: field.path, rule: rule)
        }
    }()

    /// The base rule changed by `change`.
    static func rule(_ change: (inout Mitigation) -> Void) -> Mitigation {
        var rule = base
        change(&rule)
        return rule
    }

    /// The document path of `key` under `parent`.
    static func path(_ parent: String, _ key: some CodingKey) -> String {
        parent.isEmpty ? key.stringValue : "\(parent).\(key.stringValue)"
    }

    static func ruleCases(_ key: Mitigation.CodingKeys) -> [FieldCase] {
        let rules: [Mitigation] = switch key {
        case .id: [rule { $0.id = "Set.id_1-2" }]
        case .description: [rule { $0.description = "Text: a colon, # a hash, 'single' and \"double\" quotes, é, 💩,\nand a second line" }]
        case .references: [rule { $0.references = ["CVE-2022-41040", "https://example.org/advisory?a=1&b=2", "123", "true"] }]
        case .state: RuleState.allCases.filter { $0 != base.state }.map { state in rule { $0.state = state } }
        case .applies: [rule { $0.applies = Applicability(products: [.exchange2019]) }]
        case .actions: [rule { $0.actions = [.doNothing(description: nil), .disableService("MSExchangeUM", description: nil)] }]
        }
        return rules.map { FieldCase(path: path("", key), rule: $0) }
    }

    static func applicabilityCases(_ key: Applicability.CodingKeys) -> [FieldCase] {
        let values: [Applicability] = switch key {
        case .products: ExchangeProduct.allCases.map { Applicability(products: [$0]) } + [Applicability(products: ExchangeProduct.allCases)]
        case .cus: [Applicability(cumulativeUpdates: [catalogName("Exchange2019 CU13"), catalogName("Exchange 2016 CU23")])]
        case .fixedBy: [Applicability(narrowing: .fixedBy("Oct22SU"))]
        case .ranges: [Applicability(narrowing: .ranges([BuildRange(from: bound("15.1.2507.6"), until: bound("Exchange2016 CU23 Oct22SU"))]))]
        }
        let applies = path("", Mitigation.CodingKeys.applies)
        return values.map { value in FieldCase(path: path(applies, key), rule: rule { $0.applies = value }) }
    }

    static func rangeCases(_ key: BuildRange.CodingKeys) -> [FieldCase] {
        // A build and a catalog name for each bound, the other bound left open.
        let bounds = [bound("15.2.1258.12"), bound("Exchange2019 CU13 Jun23SU")]
        let ranges: [BuildRange] = switch key {
        case .from: bounds.map { BuildRange(from: $0, until: nil) }
        case .until: bounds.map { BuildRange(from: nil, until: $0) }
        }
        let parent = path(path("", Mitigation.CodingKeys.applies), Applicability.CodingKeys.ranges) + "[]"
        return ranges.map { range in
            FieldCase(path: path(parent, key), rule: rule { $0.applies = Applicability(narrowing: .ranges([range])) })
        }
    }

    static func actionCases(_ key: MitigationAction.CodingKeys) -> [FieldCase] {
        let rewrite = UrlRewrite(scope: .server, site: nil, rule: rewriteRule)
        let actions: [MitigationAction] = switch key {
        case .type: MitigationAction.typeNames.map { action(ofType: $0, description: nil) }
        case .description: MitigationAction.typeNames.map { action(ofType: $0, description: "What the \($0) action does: 'quoted' é") }
        case .scope: UrlRewrite.Scope.allCases.map { scope in
            .iisUrlRewrite(UrlRewrite(scope: scope, site: scope == .site ? "Default Web Site" : nil, rule: rewriteRule), description: nil)
        }
        case .site: [.iisUrlRewrite(UrlRewrite(scope: .site, site: "Default Web Site", rule: rewriteRule), description: nil)]
        case .rule: [.iisUrlRewrite(rewrite, description: nil)]
        case .service: [.disableService("MSExchangeUM", description: nil)]
        case .appPool: [.disableAppPool("MSExchangeOWAAppPool", description: nil)]
        }
        let parent = path("", Mitigation.CodingKeys.actions) + "[]"
        return actions.map { action in FieldCase(path: path(parent, key), rule: rule { $0.actions = [action] }) }
    }

    static func rewriteRuleCases(_ key: UrlRewrite.Rule.CodingKeys) -> [FieldCase] {
        let rules: [UrlRewrite.Rule] = switch key {
        case .name: [with(rewriteRule) { $0.name = "PowerShell - inbound: 2" }]
        case .input: [with(rewriteRule) { $0.input = "{UrlDecode:{REQUEST_URI}}" }]
        case .pattern: [with(rewriteRule) { $0.pattern = #".*autodiscover\.json.*Powershell.*"# }]
        // Every action a rule may use; the validator refuses the rest.
        case .action: UrlRewrite.Rule.actions.map { action in with(rewriteRule) { $0.action = action } }
        }
        let parent = path(path("", Mitigation.CodingKeys.actions) + "[]", MitigationAction.CodingKeys.rule)
        return rules.map { rewriteRule in
            FieldCase(path: path(parent, key), rule: rule {
                $0.actions = [.iisUrlRewrite(UrlRewrite(scope: .server, site: nil, rule: rewriteRule), description: nil)]
            })
        }
    }

    /// An action of the type named `type`, its required fields filled.
    static func action(ofType type: String, description: String?) -> MitigationAction {
        switch type {
        case MitigationAction.disableServiceType: .disableService("MSExchangeUM", description: description)
        case MitigationAction.disableAppPoolType: .disableAppPool("MSExchangeOWAAppPool", description: description)
        case MitigationAction.iisUrlRewriteType: .iisUrlRewrite(UrlRewrite(scope: .server, site: nil, rule: rewriteRule), description: description)
        // DoNothing, and a type added without a case here: `everyActionTypeHasACase` fails for it.
        default: .doNothing(description: description)
        }
    }

    static func with<Value>(_ value: Value, _ change: (inout Value) -> Void) -> Value {
        var value = value
        change(&value)
        return value
    }

    static func catalogName(_ text: String) -> CatalogName {
        // The names above are fixed and valid; a typo in one stops every test here at once.
        try! CatalogName(parsing: text)
    }

    static func bound(_ text: String) -> RangeBound {
        try! RangeBound(parsing: text)
    }

    /// The paths of every field of a JSON document, list entries as `[]`.
    static func fieldPaths(ofJSON data: Data) throws -> Set<String> {
        var paths: Set<String> = []
        func walk(_ value: Any, at path: String) {
            if let object = value as? [String: Any] {
                for (name, child) in object {
                    let childPath = path.isEmpty ? name : "\(path).\(name)"
                    paths.insert(childPath)
                    walk(child, at: childPath)
                }
            } else if let array = value as? [Any] {
                for item in array { walk(item, at: path + "[]") }
            }
        }
        walk(try JSONSerialization.jsonObject(with: data), at: "")
        return paths
    }

    // MARK: Round trips

    @Test(arguments: cases)
    func aRuleFileWrittenByTheEncoderDecodesToTheSameRule(_ field: FieldCase) throws {
        let yaml = try RuleDocumentEncoder().yaml(for: field.rule)
        switch RuleDocumentDecoder().decode(yaml, file: "rule.yaml") {
        case .success(let decoded): #expect(decoded.rule == field.rule, "\(yaml)")
        case .failure(let invalid): Issue.record("refused:\n\(invalid)\n\(yaml)")
        }
    }

    @Test(arguments: cases)
    func aJSONBodyWrittenByTheCodableEncoderDecodesToTheSameRule(_ field: FieldCase) throws {
        let json = try JSONEncoder().encode(field.rule)
        // The case really writes its field, so the decoder is asked to read it.
        #expect(try Self.fieldPaths(ofJSON: json).contains(field.path), "\(String(decoding: json, as: UTF8.self))")
        switch RuleDocumentDecoder().decode(json: Array(json)) {
        case .success(let decoded): #expect(decoded == field.rule)
        case .failure(let refusal): Issue.record("refused: \(refusal)\n\(String(decoding: json, as: UTF8.self))")
        }
        // The Codable decoder (the database's) agrees.
        #expect(try JSONDecoder().decode(Mitigation.self, from: json) == field.rule)
    }

    // MARK: Coverage of the schema

    @Test func everyCodingKeyHasACaseThatSetsIt() {
        func paths(_ parent: String, _ keys: [some CodingKey]) -> [String] { keys.map { Self.path(parent, $0) } }
        let applies = Mitigation.CodingKeys.applies.stringValue, action = Mitigation.CodingKeys.actions.stringValue + "[]"
        var expected = paths("", Mitigation.CodingKeys.allCases)
        expected += paths(applies, Applicability.CodingKeys.allCases)
        expected += paths(Self.path(applies, Applicability.CodingKeys.ranges) + "[]", BuildRange.CodingKeys.allCases)
        expected += paths(action, MitigationAction.CodingKeys.allCases)
        expected += paths(Self.path(action, MitigationAction.CodingKeys.rule), UrlRewrite.Rule.CodingKeys.allCases)
        let covered = Set(Self.cases.map(\.path))
        for path in expected { #expect(covered.contains(path), "no round-trip case sets \(path)") }
        for field in Self.cases { #expect(field.rule != Self.base, "\(field.path) sets nothing") }
    }

    @Test func everyActionTypeHasACase() {
        let typePath = Self.path(Mitigation.CodingKeys.actions.stringValue + "[]", MitigationAction.CodingKeys.type)
        let typed = Self.cases.filter { $0.path == typePath }.flatMap(\.rule.actions).map(\.typeName)
        #expect(typed == MitigationAction.typeNames)
    }

    /// Every action field belongs to some action type: one that belonged to none would be
    /// refused by the Codable decoder in every action.
    @Test func everyActionFieldBelongsToAType() {
        let typed = Set(MitigationAction.typeNames.flatMap { MitigationAction.fields(ofType: $0) ?? [] })
        #expect(typed == Set(MitigationAction.CodingKeys.allCases))
        #expect(MitigationAction.fields(ofType: "Nothing") == nil)
    }

    /// A stored property added to a rule's types without a coding key fails here: its value would
    /// reach neither the database nor a rule file.
    @Test func everyStoredPropertyHasACodingKey() {
        func labels(_ value: Any) -> [String] { Mirror(reflecting: value).children.compactMap(\.label) }
        func keys(_ keys: [some CodingKey]) -> [String] { keys.map(\.stringValue) }
        let rewrite = UrlRewrite(scope: .site, site: "s", rule: Self.rewriteRule)
        #expect(labels(Self.base) == keys(Mitigation.CodingKeys.allCases))
        #expect(labels(BuildRange(from: nil, until: nil)) == keys(BuildRange.CodingKeys.allCases))
        #expect(labels(Self.rewriteRule) == keys(UrlRewrite.Rule.CodingKeys.allCases))
        // These two map their properties onto keys by hand (`cumulativeUpdates` is `cus`, the
        // narrowing is `fixedBy` or `ranges`; a rewrite's fields sit in its action).
        #expect(labels(Applicability()) == ["products", "cumulativeUpdates", "narrowing"])
        #expect(labels(rewrite) == ["scope", "site", "rule"])
        #expect(Set(["scope", "site", "rule"]).isSubset(of: keys(MitigationAction.CodingKeys.allCases)))
    }

    /// The decoder's unknown-field messages list what the schema's keys allow, in the schema's order.
    @Test func unknownFieldsAreJudgedAgainstTheCodingKeys() {
        func problems(_ text: String) -> [String] {
            guard case .failure(let invalid) = RuleDocumentDecoder().decode(text, file: "r.yaml") else { return [] }
            return invalid.problems.map(\.message)
        }
        let rule = "id: U\ndescription: d\nactions:\n  - type: DoNothing\n"
        #expect(problems(rule + "zzzzzz: 1\n") == [
            "unknown field 'zzzzzz': expected one of " + Mitigation.CodingKeys.allCases.map(\.stringValue).joined(separator: ", "),
        ])
        #expect(problems(rule + "applies:\n  zzzzzz: 1\n") == [
            "unknown field 'zzzzzz' in applies: expected one of " + Applicability.CodingKeys.allCases.map(\.stringValue).joined(separator: ", "),
        ])
        #expect(problems(rule + "    zzzzzz: 1\n") == [
            "unknown field 'zzzzzz' in a DoNothing action: expected one of type, description",
        ])
    }
}
