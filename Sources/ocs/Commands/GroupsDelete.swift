import ArgumentParser
import OCSStorage

/// `ocs groups delete NAME`: refused while a published rule is released to it.
struct GroupsDelete: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a host group no published rule is released to.")

    @Argument(help: "The group's name.")
    var name: String

    @OptionGroup var reason: ReasonOption
    @OptionGroup var database: DatabaseOptions

    func run() throws {
        do {
            try HostGroupStore(database: try database.open()).delete(name: name, context: reason.context)
        } catch {
            throw CommandFailure("\(error)")
        }
        print("deleted group \(name)")
    }
}
