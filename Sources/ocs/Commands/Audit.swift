import ArgumentParser
import Foundation
import OCSOperations
import OCSStorage

/// `ocs audit`: who changed what, oldest first.
struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the audit trail of rule and token changes.")

    @Option(help: "Only entries about this rule id.")
    var rule: String?

    @Option(help: "Only entries by this actor (a token name, or local:USER).")
    var actor: String?

    @Option(help: "Only entries at or after this time (ISO 8601, e.g. 2026-11-23T06:00:00Z).")
    var since: String?

    @Option(help: "Only entries before this time (ISO 8601).")
    var until: String?

    @Flag(help: "Print JSON for scripts.")
    var json = false

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let filter = AuditLog.Filter(ruleID: rule, actor: actor, since: try Self.date(since, "--since"), until: try Self.date(until, "--until"))
        let log = AuditLog(database: try database.open())
        // One entry, one line, whatever an older version stored: control characters are escaped.
        var output = PagedOutput(json: json, header: ["TIME", "ACTOR", "ACTION", "RULE", "REVISION", "FROM", "OUTCOME", "REASON"])
        try PageRequest.walk { page in try log.entries(filter, page: page) } handle: { page in
            output.print(page.items, rows: page.items.map { entry in
                [entry.time.formatted(.iso8601), entry.actor, entry.action, entry.ruleID ?? "-",
                 entry.revision.map(String.init) ?? "-", entry.remoteAddress ?? "-", entry.outcome, entry.reason ?? "-"]
                    .map { AuditLog.printable($0, maximumBytes: .max) }
            })
        }
        output.finish()
    }

    static func date(_ text: String?, _ option: String) throws -> Date? {
        guard let text else { return nil }
        guard let date = try? Date(text, strategy: .iso8601) else {
            throw ValidationError("\(option) '\(text)' is not an ISO 8601 time like 2026-11-23T06:00:00Z")
        }
        return date
    }
}
