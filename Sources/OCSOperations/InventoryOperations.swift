import Foundation
import OCSDomain
import OCSInventory
import OCSStorage

/// Reports of servers running Microsoft's own EM service: a `Get-ExchangeServer | Export-Clixml`
/// file, from `ocs hosts import --exchange` or `POST /api/v1/inventory`.
public struct InventoryOperations: Sendable {
    let checkIns: CheckInStore
    let audit: AuditLog

    /// Reads `export` and records its servers (see `CheckInStore.record(inventory:)`). A file that
    /// is refused records nothing; its refusal is audited.
    public func report(_ export: Data, context: ChangeContext, at time: Date = Date()) throws(OperationError) -> [InventoryOutcome] {
        let report: InventoryReport
        do {
            report = try ExchangeServerExport.read(export)
        } catch {
            try? audit.append(AuditEntry(
                time: time, context: context, action: CheckInStore.inventoryAction, ruleID: nil, revision: nil,
                outcome: "refused: \(error.description)"
            ))
            throw .inventory(error)
        }
        do {
            return try checkIns.record(inventory: report, context: context, at: time)
        } catch {
            throw OperationError(error)
        }
    }
}
