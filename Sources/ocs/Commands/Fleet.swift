import ArgumentParser
import Foundation
import OCSDomain
import OCSOperations
import OCSStorage

/// `ocs fleet`: the fleet at a glance, as `GET /api/v1/fleet` shows it.
struct Fleet: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the fleet: hosts, stale hosts, builds, and each published rule's coverage."
    )

    @OptionGroup var staleness: StalenessOptions

    @Flag(help: "Print JSON for scripts, as GET /api/v1/fleet.")
    var json = false

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let db = try database.open()
        let published = try RuleStore(database: db).all(state: .published).map { (rule: $0.rule, revision: $0.revision) }
        let summary = try FleetStore(database: db).summary(rules: published, staleSince: staleness.staleSince, staleAfterSeconds: staleness.staleAfter)
        if json {
            FileHandle.standardOutput.write(Data(APIJSON.encode(summary)))
            return
        }
        let hosts = summary.hosts
        print("\(hosts.total) hosts: \(hosts.verified) verified, \(hosts.stale) stale (no poll for \(staleness.staleAfter) s), \(hosts.unknownBuild) without a build, \(hosts.notOnNewestUpdate) not on the newest update of their CU")
        print()
        print(TextTable(header: ["PRODUCT", "HOSTS"], rows: summary.products.map { [$0.product.displayName, String($0.hosts)] }).rendered)
        print(TextTable(header: ["PRODUCT", "CU", "HOSTS", "NOT ON NEWEST", "NEWEST"], rows: summary.cumulativeUpdates.map {
            [$0.product.displayName, $0.cumulativeUpdate, String($0.hosts), String($0.notOnNewestUpdate), $0.newestName.map { "\($0)" } ?? "-"]
        }).rendered)
        if let unlisted = summary.unlistedCumulativeUpdates {
            print("and \(unlisted.entries) more CU branches with \(unlisted.hosts) hosts\n")
        }
        print(TextTable(header: ["BUILD", "NAME", "HOSTS"], rows: summary.builds.map {
            [$0.build, $0.name + ($0.newestOnBranch == false ? " (update available)" : ""), String($0.hosts)]
        }).rendered)
        if let unlisted = summary.unlistedBuilds {
            print("and \(unlisted.entries) more builds with \(unlisted.hosts) hosts\n")
        }
        print(RulesCoverage.countsTable(summary.rules).rendered, terminator: "")
    }
}
