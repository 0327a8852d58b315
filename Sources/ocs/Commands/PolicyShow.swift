import ArgumentParser
import OCSStorage

/// `ocs policy show`: every policy and its value.
struct PolicyShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show the policies.")

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let on = try ChangeStore(database: try database.open()).requiresApproval()
        print("\(ChangeStore.requireApproval) \(on ? "on" : "off")")
    }
}
