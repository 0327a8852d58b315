import Foundation
import OCSDomain
import OCSTestSupport
import Testing
@testable import OCSRuleFiles

extension ScratchFolder {
    /// A scratch folder holding these rule files.
    convenience init(_ files: [String: String]) throws {
        try self.init()
        for (name, text) in files {
            try Data(text.utf8).write(to: url.appendingPathComponent(name))
        }
    }

    var path: String { url.path }
}

struct RuleFileSetTests {
    static let valid = """
        id: OK1
        description: fine
        actions:
          - type: DoNothing
        """

    func problems(_ text: String) throws -> [String] {
        let folder = try ScratchFolder(["rule.yaml": text])
        do {
            _ = try RuleFileSet.load(folder.path)
            return []
        } catch {
            return error.problems.map { "\($0.line): \($0.field.isEmpty ? "" : $0.field + ": ")\($0.message)" }
        }
    }

    @Test func loadsTheShippedRules() throws {
        let rules = URL(fileURLWithPath: #filePath).appendingPathComponent("../../../Rules").standardized
        let set = try RuleFileSet.load(rules.path)
        #expect(Set(set.rules.map(\.id)) == ["PING1", "M1", "EXAMPLE-SERVICE", "EXAMPLE-APPPOOL"])
        let m1 = try #require(set.rules.first { $0.id == "M1" })
        #expect(m1.state == .published)
        #expect(m1.applies == Applicability(products: [.exchange2016, .exchange2019], narrowing: .fixedBy("Oct22SU")))
        guard case .iisUrlRewrite(let rewrite, _) = m1.actions.first else { Issue.record("M1 is not a URL rewrite"); return }
        #expect(rewrite.site == "Default Web Site")
        #expect(rewrite.rule == .init(name: "PowerShell - inbound", input: "{UrlDecode:{REQUEST_URI}}", pattern: #".*autodiscover\.json.*Powershell.*"#, action: "AbortRequest"))
    }

    @Test func defaultsStateToDraft() throws {
        let folder = try ScratchFolder(["a.yaml": Self.valid])
        #expect(try RuleFileSet.load(folder.path).rules.first?.state == .draft)
    }

    @Test func reportsUnknownFieldAtItsLine() throws {
        #expect(try problems("id: X\ndescription: d\nactions:\n  - type: DoNothing\n    colour: red\n") == [
            "5: actions[0].colour: unknown field 'colour' in a DoNothing action: expected one of type, description",
        ])
        #expect(try problems("id: X\ndescripton: d\nactions:\n  - type: DoNothing\n") == [
            "1: description: missing required field 'description'",
            "2: descripton: unknown field 'descripton': did you mean 'description'?",
        ])
    }

    @Test func reportsBadID() throws {
        #expect(try problems("id: not valid\ndescription: d\nactions:\n  - type: DoNothing\n").first?.hasPrefix("1: id: 'not valid' is not a valid id") == true)
    }

    @Test func reportsBadBuild() throws {
        let text = "id: X\ndescription: d\napplies:\n  ranges:\n    - from: 15.2.1118.7\n      until: 15.2.x\nactions:\n  - type: DoNothing\n"
        #expect(try problems(text).first?.hasPrefix("6: applies.ranges[0].until: invalid build '15.2.x'") == true)
    }

    @Test func reportsUnknownUpdateName() throws {
        let text = "id: X\ndescription: d\napplies:\n  fixedBy: Oct99SU\nactions:\n  - type: DoNothing\n"
        #expect(try problems(text).first?.hasPrefix("4: applies.fixedBy: unknown update name 'Oct99SU'") == true)
    }

    @Test func reportsFixedByWithRanges() throws {
        let text = "id: X\ndescription: d\napplies:\n  fixedBy: Oct22SU\n  ranges:\n    - from: 15.2.1118.7\nactions:\n  - type: DoNothing\n"
        #expect(try problems(text) == ["5: applies.ranges: use either 'fixedBy' or 'ranges', not both"])
    }

    @Test func reportsInvalidRegexAtThePattern() throws {
        let text = """
            id: X
            description: d
            actions:
              - type: IISUrlRewrite
                scope: Server
                rule:
                  name: r
                  input: "{REQUEST_URI}"
                  pattern: "([unclosed"
                  action: AbortRequest
            """
        #expect(try problems(text).first?.hasPrefix("9: actions[0].rule.pattern: is not a valid regular expression") == true)
    }

    @Test func reportsEmptyActions() throws {
        #expect(try problems("id: X\ndescription: d\nactions: []\n") == ["3: actions: needs at least one action"])
    }

    @Test func reportsEverySemanticProblemOfAFile() throws {
        let text = "id: bad id\ndescription: d\napplies:\n  fixedBy: Nope\nactions: []\n"
        #expect(try problems(text).map { $0.prefix(2) } == ["1:", "4:", "5:"])
    }

    @Test func reportsMissingFieldsUnknownTypesAndSyntax() throws {
        #expect(try problems("id: X\nactions:\n  - type: DoNothing\n") == ["1: description: missing required field 'description'"])
        #expect(try problems("id: X\ndescription: d\nactions:\n  - type: Reboot\n").first?.hasPrefix("4: actions[0].type: unknown action type 'Reboot'") == true)
        #expect(try problems("id: X\ndescription: [unclosed\n").first?.hasPrefix("3: YAML syntax") == true)
        #expect(try problems("").first == "1: the file holds no rule: expected a mapping with id, description and actions")
        #expect(try problems("id: X\ndescription: d\napplies:\n  products: [Exchange2013]\nactions:\n  - type: DoNothing\n").first?.contains("'Exchange2013' is not one of Exchange2016, Exchange2019, ExchangeSE") == true)
    }

    @Test func reportsDuplicateIDsAcrossFilesAndEveryFile() throws {
        let folder = try ScratchFolder([
            "a.yaml": Self.valid,
            "b.yaml": "# same id again\n" + Self.valid,
            "c.yml": "id: C\ndescription: d\nactions: []\n",
            "notes.txt": "ignored",
        ])
        do {
            _ = try RuleFileSet.load(folder.path)
            Issue.record("expected problems")
        } catch {
            let lines = error.problems.map(\.description)
            #expect(lines.count == 2)
            #expect(lines.contains { $0.hasSuffix("c.yml:3: actions: needs at least one action") })
            #expect(lines.contains { $0.hasSuffix("b.yaml:2: id: duplicate id 'OK1': \(folder.path)/a.yaml defines it too") })
        }
    }

    @Test func reportsAMissingPath() {
        #expect(throws: RuleFilesInvalid.self) { try RuleFileSet.load("/nonexistent/ocs-rules") }
    }

    @Test func encodesRulesThatDecodeToTheSameRule() throws {
        let rules = URL(fileURLWithPath: #filePath).appendingPathComponent("../../../Rules").standardized
        for rule in try RuleFileSet.load(rules.path).rules {
            let yaml = try RuleDocumentEncoder().yaml(for: rule)
            #expect(try RuleDocumentDecoder().decode(yaml, file: "x").get().rule == rule)
        }
    }
}
