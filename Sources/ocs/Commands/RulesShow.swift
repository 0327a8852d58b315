import ArgumentParser
import OCSRuleFiles
import OCSStorage

/// `ocs rules show ID`: a rule as its YAML file.
struct RulesShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Print a rule as YAML.")

    @Argument(help: "The rule id.")
    var id: String

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        guard let rule = try RuleStore(database: try database.open()).rule(id: id) else {
            throw CommandFailure.noSuchRule(id)
        }
        print(try RuleDocumentEncoder().yaml(for: rule), terminator: "")
    }
}
