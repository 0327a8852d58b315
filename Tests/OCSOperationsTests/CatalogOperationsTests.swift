import OCSDomain
import OCSOperations
import OCSStorage
import OCSTestSupport
import Testing

/// Builds added under require-approval: an addition that changes which builds a published rule
/// applies to is an admin's emergency, with a reason, or nothing is added.
struct CatalogOperationsTests {
    static let nov26 = CatalogRowInput(product: "Exchange2019", cu: "CU15", update: "Nov26SU", build: "15.2.1748.55", released: "2026-11")
    static let cu16 = CatalogRowInput(product: "Exchange2019", cu: "CU16", update: nil, build: "15.2.1800.5", released: "2026-12-01")
    static let seDec26 = CatalogRowInput(product: "ExchangeSE", cu: "RTM", update: "Dec26SU", build: "15.2.2562.57", released: "2026-12")

    @Test func underApprovalABuildThatChangesARulesReachIsAnAdminsEmergency() throws {
        let operations = Operations(database: try TestDatabase.fresh())
        let admin = ChangeContext(actor: "adam")
        _ = try operations.builds.add([(nil, Self.nov26)], context: admin, role: .admin)
        // Until the November SU: CU16, released after it, carries the fix, so adding it changes the rule's builds.
        try operations.rules.importRules([
            Mitigation(id: "NOV", description: "d", state: .published, applies: Applicability(narrowing: .fixedBy("Nov26SU")), actions: [.doNothing(description: nil)]),
        ])
        try operations.lifecycle.setRequireApproval(true, context: admin)
        let serial = try operations.rules.serial()

        #expect(throws: OperationError.catalog(.needsApproval(rules: ["NOV"]))) {
            try operations.builds.add([(nil, Self.cu16)], context: admin, role: .admin)
        }
        #expect(throws: OperationError.emergencyNeedsReason) {
            try operations.builds.add([(nil, Self.cu16)], context: admin, role: .admin, emergency: true)
        }
        #expect(throws: OperationError.emergencyNeedsAdmin(actor: "alice", role: .publisher)) {
            try operations.builds.add([(nil, Self.cu16)], context: ChangeContext(actor: "alice", reason: "INC-1"), role: .publisher, emergency: true)
        }
        #expect(try operations.catalogs.catalog().entry(named: CatalogName(parsing: "Exchange2019 CU16")) == nil, "nothing was added")
        #expect(try operations.rules.serial() == serial)

        // A build no published rule's reach depends on goes ahead, approval or not.
        #expect(try operations.builds.add([(nil, Self.seDec26)], context: admin, role: .admin).added.count == 1)
        #expect(try operations.rules.serial() == serial)

        // The admin's emergency, with a reason: added, the serial raised, audited as an emergency.
        let added = try operations.builds.add([(nil, Self.cu16)], context: admin.with(reason: "INC-9"), role: .admin, emergency: true)
        #expect(added.added.count == 1 && added.serialRaised)
        let entry = try #require(try operations.audit.entries(AuditLog.Filter(actor: "adam")).items.first { $0.outcome.contains("CU16") })
        #expect(entry.outcome.contains("emergency: changes published rules NOV") && entry.reason == "INC-9", "\(entry)")
    }
}
