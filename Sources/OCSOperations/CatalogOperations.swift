import OCSDomain
import OCSStorage

/// Adding builds to the catalog, as the API and the command line do it. A build added can change
/// which hosts a rule naming a CU or an update reaches, as a publish does, without a second
/// person: so with require-approval on, such an addition is applied only as an emergency, an
/// admin's with a reason, audited as such; any other is refused naming the policy and the rules.
/// Additions that change no published rule's builds go ahead as ever.
public struct CatalogOperations: Sendable {
    let catalogs: CatalogStore

    public init(catalogs: CatalogStore) {
        self.catalogs = catalogs
    }

    /// Validates and adds `rows`, all or none (see `CatalogStore.add`).
    public func add(
        _ rows: [(line: Int?, row: CatalogRowInput)], context: ChangeContext, role: Role, emergency: Bool = false
    ) throws(OperationError) -> CatalogStore.AddResult {
        if emergency {
            guard role >= .admin else { throw .emergencyNeedsAdmin(actor: context.actor, role: role) }
            guard context.reason != nil else { throw .emergencyNeedsReason }
        }
        do {
            return try catalogs.add(rows, context: context, emergency: emergency)
        } catch {
            throw OperationError(error)
        }
    }
}
