import ArgumentParser
import Foundation
import OCSDomain
import OCSServer
import OCSStorage

/// `ocs hosts`: the hosts that have checked in, latest state first.
struct Hosts: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the hosts that have polled the feed.")

    @Flag(help: "Print JSON for scripts.")
    var json = false

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let hosts = try CheckInStore(database: try database.open()).hosts()
        let views = hosts.map { HostView($0) }
        if json {
            FileHandle.standardOutput.write(Data(APIJSON.encode(views)))
            return
        }
        let rows: [[String]] = views.map { view in
            let build: String = view.build ?? "-"
            let name: String = view.buildName ?? "-"
            return [view.name, build, name, Self.format(view.lastSeen),
                    view.applied.joined(separator: ","), view.blocked.joined(separator: ",")]
        }
        print(TextTable(header: ["HOST", "BUILD", "CATALOG NAME", "LAST SEEN", "APPLIED", "BLOCKED"], rows: rows).rendered, terminator: "")
    }

    private static func format(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}
