import ArgumentParser
import Foundation
import OCSDomain
import OCSOperations
import OCSStorage

/// `ocs rules coverage ID`: which hosts a published rule protects, as `GET /api/v1/rules/ID/coverage`.
struct RulesCoverage: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coverage",
        abstract: "Count a published rule's hosts per coverage state, or list the hosts in one state.",
        discussion: """
            Each known host is in exactly one state, the first that fits: unknown (no build reported), \
            notApplicable, stale (no poll within --stale-after), blocked, applied, disabled \
            (mitigationsEnabled=false), pending. inScope is the last five; exposed is inScope but not applied; \
            narrowed is the notApplicable hosts a narrowing (--narrow) took the rule from.
            """
    )

    @Argument(help: "The rule id.")
    var id: String

    @Option(help: ArgumentHelp("List the hosts in this state: \(CoverageSelection.names.joined(separator: ", ")).", valueName: "name"))
    var state: String?

    @OptionGroup var staleness: StalenessOptions

    @Flag(help: "Count only verified (enrolled) hosts: what can be counted as protected when anyone could have sent the rest.")
    var verified = false

    @Flag(help: "Print JSON for scripts: the counts as the API gives them, or with --state an array of hosts.")
    var json = false

    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        if let state, CoverageSelection(name: state) == nil {
            throw ValidationError("--state '\(state)' is not one of \(CoverageSelection.names.joined(separator: ", "))")
        }
    }

    func run() throws {
        let db = try database.open()
        guard let record = try RuleStore(database: db).record(id: id) else { throw CommandFailure.noSuchRule(id) }
        guard record.rule.state == .published else {
            throw CommandFailure("rule \(id) is \(record.rule.state.rawValue): coverage is of published rules")
        }
        let fleet = FleetStore(database: db)
        let staleSince = staleness.staleSince
        if let selection = state.flatMap(CoverageSelection.init(name:)) {
            try Hosts.printAll(json: json, staleSince: staleSince, catalog: try CatalogStore(database: db).catalog()) { page in
                try fleet.hosts(of: record.rule, in: selection.states, narrowed: selection.narrowed, staleSince: staleSince, verifiedOnly: verified, page: page)
            }
            return
        }
        let coverage = try fleet.coverage(of: record.rule, revision: record.revision, staleSince: staleSince, verifiedOnly: verified)
        if json {
            FileHandle.standardOutput.write(Data(APIJSON.encode(CoverageView(coverage, staleAfterSeconds: staleness.staleAfter, release: record.release))))
        } else {
            print("released to \(record.release ?? .everyone)" + (verified ? "; verified hosts only" : ""))
            print(Self.countsTable([coverage]).rendered, terminator: "")
        }
    }

    /// One line per rule: its revision and hosts per state.
    static func countsTable(_ rules: [RuleCoverage]) -> TextTable {
        TextTable(
            header: ["RULE", "REVISION", "HOSTS", "IN SCOPE", "APPLIED", "EXPOSED", "PENDING", "DISABLED", "BLOCKED", "STALE", "NOT APPLICABLE", "NARROWED", "UNKNOWN"],
            rows: rules.map { coverage in
                let hosts = coverage.hosts
                return [coverage.rule, String(coverage.revision)] + [
                    hosts.total, hosts.inScope, hosts.applied, hosts.exposed, hosts.pending, hosts.disabled,
                    hosts.blocked, hosts.stale, hosts.notApplicable, hosts.narrowed, hosts.unknown,
                ].map(String.init)
            }
        )
    }
}
