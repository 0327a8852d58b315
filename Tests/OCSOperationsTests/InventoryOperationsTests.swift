import Foundation
import OCSDomain
import OCSOperations
import OCSRuleFiles
import OCSStorage
import OCSTestSupport
import Testing

/// Get-ExchangeServer reports on either engine: Microsoft's fixtures give the coverage their
/// builds imply against the starter rules; a refused file records nothing; polls never change an
/// inventory host; an agent that enrolls as the server takes it over.
struct InventoryOperationsTests {
    static let reporter = ChangeContext(actor: "inventory-script")
    static let time = Date(timeIntervalSince1970: 1_800_000_000)

    /// A database with the repository's starter rules (M1, PING1, ...) published as shipped.
    static func operations() throws -> Operations {
        let operations = Operations(database: try TestDatabase.fresh())
        let rules = try RuleFileSet.load(URL(fileURLWithPath: #filePath).appendingPathComponent("../../../Rules").standardized.path).rules
        try operations.rules.importRules(rules)
        return operations
    }

    static func coverage(_ id: String, _ operations: Operations, verifiedOnly: Bool = false) throws -> RuleCoverage {
        let record = try #require(try operations.rules.record(id: id))
        return try operations.fleet.coverage(of: record.rule, revision: record.revision, staleSince: time.addingTimeInterval(-3600), verifiedOnly: verifiedOnly)
    }

    @Test func microsoftsExportsGiveTheCoverageTheirBuildsImply() throws {
        let operations = try Self.operations()
        let e19 = try operations.inventory.report(try Data(contentsOf: RepositoryFixtures.exchange2019Export), context: Self.reporter, at: Self.time)
        let e16 = try operations.inventory.report(try Data(contentsOf: RepositoryFixtures.exchange2016Export), context: Self.reporter, at: Self.time)
        #expect(e19.map(\.result) == [.added] && e16.map(\.result) == [.added, .added])

        // SOLO-E19A, Exchange 2019 CU11 (15.2.986.5), before the October 2022 SU: M1 applies, and
        // its EM service applied nothing. E2k16-1/2, 15.1.2507.18, after CU23's Oct22SU (2507.13):
        // M1 does not apply. PING1 applies to all three (from the September 2021 CUs); two applied it.
        let m1 = try Self.coverage("M1", operations)
        #expect(m1.hosts.total == 3 && m1.hosts.inScope == 1 && m1.hosts.pending == 1 && m1.hosts.exposed == 1 && m1.hosts.notApplicable == 2)
        let ping = try Self.coverage("PING1", operations)
        #expect(ping.hosts.inScope == 3 && ping.hosts.applied == 2 && ping.hosts.pending == 1)
        // Nobody outside can forge a report (it takes an API token or the command line): they count as verified.
        #expect(try Self.coverage("M1", operations, verifiedOnly: true).hosts == m1.hosts)

        let hosts = try operations.checkIns.hosts(page: PageRequest()).items
        #expect(hosts.map(\.source) == [.inventory, .inventory, .inventory] && hosts.allSatisfy(\.verified))
        #expect(hosts.map(\.latest.build) == ["15.2.986.5", "15.1.2507.18", "15.1.2507.18"])
        #expect(hosts.map(\.latest.userAgent) == Array(repeating: InventoryReport.userAgent, count: 3))

        // The next hourly report updates the same hosts; a change of what one applied is history.
        let later = Self.time.addingTimeInterval(3600)
        let again = try operations.inventory.report(try Data(contentsOf: RepositoryFixtures.exchange2016Export), context: Self.reporter, at: later)
        #expect(again.map(\.result) == [.updated, .updated])
        #expect(try operations.checkIns.hosts(page: PageRequest()).items.count == 3)
        let entries = try operations.audit.entries(AuditLog.Filter(actor: Self.reporter.actor)).items
        #expect(entries.map(\.outcome).contains("ok: 2 servers: 0 added, 2 updated, 0 skipped"))
    }

    @Test func aRefusedExportRecordsNothingAndIsAudited() throws {
        let operations = try Self.operations()
        var text = try String(contentsOf: RepositoryFixtures.exchange2016Export, encoding: .utf8)
        // The second server's list holds something that is not a mitigation id: the first server is not recorded either.
        let last = try #require(text.range(of: "<S>PING1</S>", options: .backwards))
        text.replaceSubrange(last, with: "<S>PING1'+$(calc)</S>")
        #expect(throws: OperationError.self) {
            try operations.inventory.report(Data(text.utf8), context: Self.reporter, at: Self.time)
        }
        #expect(try operations.checkIns.hosts(page: PageRequest()).items.isEmpty)
        let refused = try operations.audit.entries(AuditLog.Filter(actor: Self.reporter.actor)).items
        #expect(refused.count == 1 && refused[0].outcome.hasPrefix("refused: object 2 (E2k16-2), property MitigationsApplied"))
    }

    @Test func aReportReplacesWhatUnverifiedPollsSaidOfItsServer() throws {
        let operations = try Self.operations()
        // Before any report, someone polls as SOLO-E19A (check-ins `any`) claiming M1 applied.
        let forged = CheckIn(
            serverID: "3c5ebdaf-1885-4f22-8f60-0e8c1667abed", serverName: "SOLO-E19A", build: "15.2.986.5", orgID: nil, applied: ["M1"], blocked: [],
            mitigationsEnabled: true, dataCollectionEnabled: nil, remoteAddress: "203.0.113.9", userAgent: "forger", time: Self.time
        )
        #expect(try operations.checkIns.record([forged]).outcomes == [.recorded])
        #expect(try Self.coverage("M1", operations).hosts.applied == 1)
        let report = try operations.inventory.report(try Data(contentsOf: RepositoryFixtures.exchange2019Export), context: Self.reporter, at: Self.time)
        #expect(report.map(\.result) == [.updated] && report[0].note?.contains("had only unverified polls") == true)
        let host = try #require(try operations.checkIns.host(HostReference("3c5ebdaf-1885-4f22-8f60-0e8c1667abed")!))
        #expect(host.source == .inventory && host.latest.applied.isEmpty)
        #expect(try Self.coverage("M1", operations).hosts.exposed == 1)
    }

    @Test func pollsNeverChangeAnInventoryHostAndAnEnrolledAgentTakesItOver() throws {
        let operations = try Self.operations()
        _ = try operations.inventory.report(try Data(contentsOf: RepositoryFixtures.exchange2019Export), context: Self.reporter, at: Self.time)
        let guid = "3c5ebdaf-1885-4f22-8f60-0e8c1667abed"
        let forged = CheckIn(
            serverID: guid, serverName: "SOLO-E19A", build: "15.2.1748.10", orgID: nil, applied: ["M1"], blocked: [],
            mitigationsEnabled: true, dataCollectionEnabled: nil, remoteAddress: "203.0.113.9", userAgent: "forger", time: Self.time
        )
        let batch = try operations.checkIns.record([forged])
        #expect(batch.outcomes == [.refused(.inventoryHost)])
        #expect(try Self.coverage("M1", operations).hosts.exposed == 1)

        // The server's own agent enrolls: the host is a polling host now, and the next report leaves it alone.
        let token = try operations.enrollment.createTokens(count: 1, validFor: 3600, context: ChangeContext(actor: "admin")).secrets[0]
        _ = try operations.enrollment.enroll(token: token, serverID: guid, serverName: "SOLO-E19A", remoteAddress: nil)
        let host = try #require(try operations.checkIns.host(HostReference(guid)!))
        #expect(host.source == .poll && host.verified)
        let next = try operations.inventory.report(try Data(contentsOf: RepositoryFixtures.exchange2019Export), context: Self.reporter, at: Self.time)
        #expect(next.map(\.result) == [.skipped] && next[0].note?.contains("enrolled as host \(host.id)") == true)
    }
}
