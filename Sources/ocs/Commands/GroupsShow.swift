import ArgumentParser
import Foundation
import OCSOperations
import OCSStorage

/// `ocs groups show NAME`: one group, as `GET /api/v1/groups/NAME`.
struct GroupsShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one host group as JSON.")

    @Argument(help: "The group's name.")
    var name: String

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        guard let record = try HostGroupStore(database: try database.open()).group(named: name) else {
            throw CommandFailure(HostGroupChangeError.notFound(name).description)
        }
        FileHandle.standardOutput.write(Data(APIJSON.encode(GroupView(record))))
    }
}
