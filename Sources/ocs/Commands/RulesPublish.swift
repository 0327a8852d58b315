import ArgumentParser
import OCSDomain
import OCSOperations
import OCSStorage

/// `ocs rules publish ID (--to GROUPS | --everyone) [--revision N]`: serve a rule's latest
/// revision, or roll back to one. A rule published already keeps its release without either.
struct RulesPublish: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Publish a rule's latest revision, or an earlier one with --revision (a rollback).",
        discussion: """
            A rule that is not published yet needs --to GROUPS (a staged rollout: only hosts in those \
            groups receive it) or --everyone. A published rule keeps its release unless one is given. \
            With require-approval on, this creates a pending change and prints its number.
            """
    )

    @Argument(help: "The rule id.")
    var id: String

    @Option(help: "The revision to publish; default the latest.")
    var revision: Int?

    @OptionGroup var release: ReleaseOptions

    @Flag(help: "Publish even if hosts that have the rule applied would stop being served it (a narrower release, a revision for fewer builds): their agents remove it. Without it such a publish is refused, naming how many hosts.")
    var narrow = false

    @OptionGroup var approval: ApprovalOptions
    @OptionGroup var database: DatabaseOptions

    func run() throws {
        try approval.perform(on: try database.open(), { lifecycle, request throws(OperationError) in
            try lifecycle.publish(id, revision: revision, to: release.release, narrow: narrow, request)
        }) { record in
            print("published \(id) at revision \(record.revision) to \(record.release ?? .everyone)")
        }
    }
}

/// `ocs rules retire ID`: take a rule out of the feed.
struct RulesRetire: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retire", abstract: "Retire a rule: the feed stops serving it.",
        discussion: "While hosts have the rule applied, retiring takes it from them: refused, naming how many, without --narrow."
    )

    @Argument(help: "The rule id.")
    var id: String

    @Flag(help: "Retire it even though hosts have it applied: their agents remove it.")
    var narrow = false

    @OptionGroup var approval: ApprovalOptions
    @OptionGroup var database: DatabaseOptions

    func run() throws {
        try approval.perform(on: try database.open(), { lifecycle, request throws(OperationError) in
            try lifecycle.retire(id, narrow: narrow, request)
        }) { _ in print("retired \(id)") }
    }
}
