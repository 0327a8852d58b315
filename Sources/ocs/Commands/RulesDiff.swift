import ArgumentParser
import OCSDomain
import OCSRuleFiles
import OCSStorage

/// `ocs rules diff ID`: what changed between two revisions, as YAML lines.
struct RulesDiff: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show the difference between two revisions of a rule (default: the current and the latest)."
    )

    @Argument(help: "The rule id.")
    var id: String

    @Option(help: "The older revision; default the current one (or the one before the latest).")
    var from: Int?

    @Option(help: "The newer revision; default the latest.")
    var to: Int?

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let store = RuleStore(database: try database.open())
        guard let record = try store.record(id: id) else {
            throw CommandFailure.noSuchRule(id)
        }
        let revisions = try store.revisions(id: id)
        let newer = to ?? record.latestRevision
        let older = from ?? (record.revision < newer ? record.revision : max(1, newer - 1))
        func yaml(_ number: Int) throws -> [Substring] {
            guard let revision = revisions.first(where: { $0.revision == number }) else {
                throw CommandFailure("rule \(id) has no revision \(number): `ocs rules revisions \(id)` lists them")
            }
            return try RuleDocumentEncoder().yaml(for: revision.rule).split(separator: "\n", omittingEmptySubsequences: false)
        }
        print("--- \(id) revision \(older)")
        print("+++ \(id) revision \(newer)")
        for line in LineDiff(try yaml(older), try yaml(newer)).lines where !line.isEmpty {
            print(line)
        }
    }
}
