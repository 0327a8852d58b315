import ArgumentParser
import Foundation
import OCSDomain
import OCSStorage

/// `ocs hosts`: the hosts that have checked in, latest state first.
struct Hosts: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the hosts that have polled the feed.")

    @Flag(help: "Print JSON for scripts.")
    var json = false

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let hosts = try CheckInStore(database: try database.open()).hosts()
        let views = hosts.map(HostView.init)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.dateEncodingStrategy = .iso8601
            print(String(decoding: try encoder.encode(views), as: UTF8.self))
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

/// A host as `ocs hosts` shows it: the stored state plus the catalog name of its build.
struct HostView: Encodable {
    let name: String
    let serverId: String?
    let serverName: String?
    let build: String?
    let buildName: String?
    let orgId: String?
    let applied: [String]
    let blocked: [String]
    let mitigationsEnabled: Bool?
    let dataCollectionEnabled: Bool?
    let remoteAddress: String?
    let userAgent: String?
    let firstSeen: Date
    let lastSeen: Date
    let pollCount: Int

    init(_ host: HostState) {
        let latest = host.latest
        name = latest.serverName ?? latest.serverID ?? host.hostKey
        serverId = latest.serverID
        serverName = latest.serverName
        build = latest.build
        buildName = latest.build.flatMap { try? ExchangeBuild(parsing: $0) }.map(BuildCatalog.embedded.describe)
        orgId = latest.orgID
        applied = latest.applied
        blocked = latest.blocked
        mitigationsEnabled = latest.mitigationsEnabled
        dataCollectionEnabled = latest.dataCollectionEnabled
        remoteAddress = latest.remoteAddress
        userAgent = latest.userAgent
        firstSeen = host.firstSeen
        lastSeen = host.lastSeen
        pollCount = host.pollCount
    }
}
