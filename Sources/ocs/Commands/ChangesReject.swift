import ArgumentParser
import OCSStorage

/// `ocs changes reject N`: refuse a pending change.
struct ChangesReject: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reject", abstract: "Reject a pending change: it will never apply.")

    @Argument(help: "The change's number.")
    var id: Int64

    @OptionGroup var reason: ReasonOption
    @OptionGroup var database: DatabaseOptions

    func run() throws {
        do {
            try ChangeStore(database: try database.open()).reject(id, context: reason.context)
        } catch {
            throw CommandFailure("\(error)")
        }
        print("rejected change \(id)")
    }
}
