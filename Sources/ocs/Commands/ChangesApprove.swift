import ArgumentParser
import OCSOperations

/// `ocs changes approve N`: apply another person's pending change.
struct ChangesApprove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve",
        abstract: "Approve and apply a pending change (not your own; not expired; the rule unchanged since)."
    )

    @Argument(help: "The change's number.")
    var id: Int64

    @OptionGroup var reason: ReasonOption
    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let operations = try database.operations()
        do throws(OperationError) {
            let record = try operations.lifecycle.approve(id, context: reason.context).record
            print("approved change \(id): \(record.rule.id) is \(record.rule.state.rawValue) at revision \(record.revision)\(record.release.map { " to \($0)" } ?? "")")
        } catch {
            throw CommandFailure(error)
        }
    }
}
