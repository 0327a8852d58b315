import ArgumentParser
import OCSOperations
import OCSStorage

/// `ocs policy set require-approval on|off`.
struct PolicySet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Set a policy: require-approval on makes publish, promote, retire and rollback wait for a second person."
    )

    @Argument(help: "The policy: require-approval.")
    var name: String

    @Argument(help: "on or off.")
    var value: String

    @OptionGroup var reason: ReasonOption
    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        guard name == ChangeStore.requireApproval else { throw ValidationError("unknown policy '\(name)': the one policy is \(ChangeStore.requireApproval)") }
        guard value == "on" || value == "off" else { throw ValidationError("'\(value)' is not on or off") }
    }

    func run() throws {
        let operations = try database.operations()
        do throws(OperationError) {
            try operations.lifecycle.setRequireApproval(value == "on", context: reason.context)
        } catch {
            throw CommandFailure(error)
        }
        print("\(name) \(value)")
    }
}
