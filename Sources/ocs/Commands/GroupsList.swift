import ArgumentParser
import OCSOperations
import OCSStorage

/// `ocs groups list [--json]`: every group, oldest first.
struct GroupsList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the host groups, oldest first.")

    @Flag(help: "Print JSON for scripts: an array of groups.")
    var json = false

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let store = HostGroupStore(database: try database.open())
        var output = PagedOutput(json: json, header: ["NAME", "KIND", "MEMBERS", "CREATED", "BY"])
        try PageRequest.walk { page in try store.groups(page: page) } handle: { page in
            let views = page.items.map(GroupView.init)
            output.print(views, rows: views.map { [$0.name, $0.kind, $0.members.joined(separator: ","), $0.createdAt.formatted(.iso8601), $0.createdBy] })
        }
        output.finish()
    }
}
