import ArgumentParser
import OCSOperations

/// `ocs changes reject N`: refuse a pending change.
struct ChangesReject: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reject", abstract: "Reject a pending change: it will never apply.")

    @Argument(help: "The change's number.")
    var id: Int64

    @OptionGroup var reason: ReasonOption
    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let operations = try database.operations()
        do throws(OperationError) {
            _ = try operations.lifecycle.reject(id, context: reason.context)
        } catch {
            throw CommandFailure(error)
        }
        print("rejected change \(id)")
    }
}
