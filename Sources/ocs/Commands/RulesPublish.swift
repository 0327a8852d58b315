import ArgumentParser
import OCSStorage

/// `ocs rules publish ID [--revision N]`: serve a rule's latest revision, or roll back to one.
struct RulesPublish: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Publish a rule's latest revision, or an earlier one with --revision (a rollback)."
    )

    @Argument(help: "The rule id.")
    var id: String

    @Option(help: "The revision to publish; default the latest.")
    var revision: Int?

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let record: RuleRecord
        do {
            record = try RuleStore(database: try database.open()).publish(id: id, revision: revision, context: .localUser)
        } catch {
            throw CommandFailure("\(error)")
        }
        print("published \(id) at revision \(record.revision)")
    }
}

/// `ocs rules retire ID`: take a rule out of the feed.
struct RulesRetire: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "retire", abstract: "Retire a rule: the feed stops serving it.")

    @Argument(help: "The rule id.")
    var id: String

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        do {
            try RuleStore(database: try database.open()).retire(id: id, context: .localUser)
        } catch {
            throw CommandFailure("\(error)")
        }
        print("retired \(id)")
    }
}
