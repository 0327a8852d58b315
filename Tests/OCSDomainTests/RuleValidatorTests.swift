import Testing
@testable import OCSDomain

struct RuleValidatorTests {
    let validator = RuleValidator()

    static func rewrite(pattern: String = ".*autodiscover\\.json.*", scope: UrlRewrite.Scope = .site, site: String? = "Default Web Site") -> MitigationAction {
        .iisUrlRewrite(UrlRewrite(scope: scope, site: site, rule: .init(
            name: "block", input: "{REQUEST_URI}", pattern: pattern, action: "AbortRequest"
        )), description: nil)
    }

    func fields(_ rule: Mitigation) -> [String] {
        validator.problems(in: rule).map(\.field)
    }

    @Test func acceptsAValidRule() {
        let rule = Mitigation(id: "M1", description: "d", applies: Applicability(products: [.exchange2019], narrowing: .fixedBy("Oct22SU")), actions: [Self.rewrite()])
        #expect(validator.problems(in: rule).isEmpty)
    }

    @Test(arguments: ["", "has space", "ünicode", String(repeating: "a", count: 65), "a/b"])
    func rejectsBadIDs(_ id: String) {
        #expect(fields(Mitigation(id: id, description: "d", actions: [.doNothing(description: nil)])) == ["id"])
    }

    @Test func acceptsEveryIDCharacter() {
        #expect(RuleValidator.isValidID("Az09._-"))
        #expect(RuleValidator.isValidID(String(repeating: "a", count: 64)))
    }

    @Test func rejectsEmptyActionsAndDescription() {
        #expect(fields(Mitigation(id: "X", description: " ", actions: [])) == ["description", "actions"])
    }

    @Test func rejectsInvalidRegex() {
        let problems = validator.problems(in: Mitigation(id: "X", description: "d", actions: [Self.rewrite(pattern: "(unclosed")]))
        #expect(problems.map(\.field) == ["actions[0].rule.pattern"])
        #expect(problems.first?.message.contains("regular expression") == true)
    }

    @Test func rejectsUnknownUpdateName() {
        let rule = Mitigation(id: "X", description: "d", applies: Applicability(narrowing: .fixedBy("Oct99SU")), actions: [.doNothing(description: nil)])
        #expect(fields(rule) == ["applies.fixedBy"])
    }

    @Test func rejectsEmptyAndInvertedRanges() throws {
        let high = try ExchangeBuild(parsing: "15.2.1118.7")
        let low = try ExchangeBuild(parsing: "15.2.986.5")
        let rule = Mitigation(id: "X", description: "d", applies: Applicability(narrowing: .ranges([
            BuildRange(from: nil, until: nil), BuildRange(fromBuild: high, untilBuild: low), BuildRange(fromBuild: low, untilBuild: high),
        ])), actions: [.doNothing(description: nil)])
        #expect(fields(rule) == ["applies.ranges[0]", "applies.ranges[1]"])
    }

    @Test func siteIsRequiredExactlyForSiteScope() {
        #expect(fields(Mitigation(id: "X", description: "d", actions: [Self.rewrite(site: nil)])) == ["actions[0].site"])
        #expect(fields(Mitigation(id: "X", description: "d", actions: [Self.rewrite(scope: .server)])) == ["actions[0].site"])
        #expect(fields(Mitigation(id: "X", description: "d", actions: [Self.rewrite(scope: .server, site: nil)])).isEmpty)
    }

    @Test func rejectsCharactersXMLCannotCarry() {
        let problems = validator.problems(in: Mitigation(id: "X", description: "bell\u{7}", actions: [.disableService("svc\u{0}", description: nil)]))
        #expect(problems.map(\.field) == ["description", "actions[0].service"])
        #expect(problems.first?.message.contains("U+7") == true)
    }

    @Test func serviceAndAppPoolNamesAreExactNeverWildcards() {
        let rule = Mitigation(id: "X", description: "d", actions: [.disableService("*", description: nil), .disableAppPool("MSExchange[OWA]AppPool", description: nil), .disableService("MSExchangeUM", description: nil)])
        let problems = validator.problems(in: rule)
        #expect(problems.map(\.field) == ["actions[0].service", "actions[1].appPool"])
        #expect(problems.first?.message.contains("Windows reads as wildcards") == true)
    }

    @Test func findsDuplicateIDs() {
        let rule = Mitigation(id: "A", description: "d", actions: [.doNothing(description: nil)])
        #expect(RuleValidator.duplicateIDs(in: [rule, rule, Mitigation(id: "B", description: "d", actions: [])]) == ["A"])
    }

    @Test func refusesRulesBeyondTheLimitsNamingTheField() throws {
        let nothing = MitigationAction.doNothing(description: nil)
        let atLimits = Mitigation(
            id: "L", description: String(repeating: "d", count: 1024), references: Array(repeating: "CVE", count: 32),
            actions: Array(repeating: nothing, count: 31) + [Self.rewrite(pattern: String(repeating: "a", count: 1024))]
        )
        #expect(validator.problems(in: atLimits).isEmpty)

        // The issue's case: 30,000 actions and 150,000 references were accepted.
        let flood = Mitigation(id: "F", description: "d", references: Array(repeating: "CVE", count: 150_000), actions: Array(repeating: nothing, count: 30_000))
        #expect(validator.problems(in: flood).map(\.description) == [
            "references: lists 150000 entries: at most 32 are allowed",
            "actions: lists 30000 entries: at most 32 are allowed",
        ])

        let long = Mitigation(
            id: "T", description: String(repeating: "d", count: 1025), references: [String(repeating: "r", count: 257)],
            actions: [.disableService(String(repeating: "s", count: 257), description: nil), Self.rewrite(pattern: String(repeating: "(", count: 1025))]
        )
        #expect(validator.problems(in: long).map(\.description) == [
            "description: is 1025 bytes long: at most 1024 are allowed",
            "references[0]: is 257 bytes long: at most 256 are allowed",
            "actions[0].service: is 257 bytes long: at most 256 are allowed",
            "actions[1].rule.pattern: is 1025 bytes long: at most 1024 are allowed",
        ], "an over-long pattern is refused without compiling it")

        let build = try ExchangeBuild(parsing: "15.2.986.5")
        let ranges = Mitigation(id: "R", description: "d", applies: Applicability(narrowing: .ranges(Array(repeating: BuildRange(fromBuild: build, untilBuild: nil), count: 33))), actions: [nothing])
        #expect(fields(ranges) == ["applies.ranges"])
    }
}
