import Foundation
import OCSDomain

extension CheckInStore {
    /// The audit action of recording an inventory report.
    public static let inventoryAction = "hosts.inventory"

    /// Records a `Get-ExchangeServer` report in one transaction, audited as one entry: each
    /// server's inventory host is added or updated with the report's facts at `time`, as a poll
    /// would change it (history keeps each change). An enrolled host with its serverId is left
    /// alone (its verified check-ins count); an unenrolled one becomes its inventory host. New
    /// hosts count against `limits.maximumHosts`; the per-address rate of new hosts is a poll's.
    public func record(inventory report: InventoryReport, context: ChangeContext, at time: Date = Date()) throws -> [InventoryOutcome] {
        try database.write { db in
            var outcomes = try writer().record(inventory: report.servers, at: time, with: PortableCheckInStatements(db))
            outcomes += report.skipped.map { InventoryOutcome(name: $0.name, serverID: nil, result: .skipped, note: $0.reason) }
            let count = { (result: InventoryOutcome.Result) in outcomes.count { $0.result == result } }
            try AuditLog.append(AuditEntry(
                time: time, context: context, action: Self.inventoryAction, ruleID: nil, revision: nil,
                outcome: "ok: \(outcomes.count) servers: \(count(.added)) added, \(count(.updated)) updated, \(count(.skipped)) skipped"
            ), in: db)
            return outcomes
        }
    }
}
