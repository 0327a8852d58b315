import ArgumentParser
import OCSDomain
import OCSOperations
import OCSStorage

/// `ocs changes list [--state STATE] [--json]`: changes, oldest first.
struct ChangesList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List changes held for approval, oldest first.")

    @Option(help: ArgumentHelp("Only changes in this state: \(PendingChange.State.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "state"))
    var state: String?

    @Flag(help: "Print JSON for scripts: an array of changes.")
    var json = false

    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        if let state, PendingChange.State(rawValue: state) == nil {
            throw ValidationError("--state '\(state)' is not one of \(PendingChange.State.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        let store = ChangeStore(database: try database.open())
        let filter = state.flatMap(PendingChange.State.init(rawValue:))
        var output = PagedOutput(json: json, header: ["ID", "STATE", "CHANGE", "BY", "REASON", "ASKED", "EXPIRES", "DECIDED BY"])
        try PageRequest.walk { page in try store.changes(state: filter, page: page) } handle: { page in
            let views = page.items.map(ChangeView.init)
            output.print(views, rows: views.map {
                [String($0.id), $0.state, $0.summary, $0.author, $0.reason ?? "-", $0.createdAt.formatted(.iso8601), $0.expiresAt.formatted(.iso8601), $0.decidedBy ?? "-"]
                    .map { AuditLog.printable($0, maximumBytes: .max) }
            })
        }
        output.finish()
    }
}
