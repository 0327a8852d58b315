import ArgumentParser
import OCSRuleFiles
import OCSStorage

/// `ocs rules show ID`: a rule as its YAML file; a published rule's stage as a comment first.
struct RulesShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Print a rule as YAML.")

    @Argument(help: "The rule id.")
    var id: String

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        guard let record = try RuleStore(database: try database.open()).record(id: id) else {
            throw CommandFailure.noSuchRule(id)
        }
        // A comment, so the output still reads back as a rule file.
        if let release = record.release { print("# released to \(release)") }
        print(try RuleDocumentEncoder().yaml(for: record.rule), terminator: "")
    }
}
