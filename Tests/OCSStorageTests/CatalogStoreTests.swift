import Foundation
import GRDB
import OCSDomain
import OCSTestSupport
import Testing
@testable import OCSStorage

struct CatalogStoreTests {
    static let nov26 = CatalogRowInput(product: "Exchange2019", cu: "CU15", update: "Nov26SU", build: "15.2.1748.55", released: "2026-11")

    static func rule(_ id: String, _ applies: Applicability?, _ state: RuleState = .published) -> Mitigation {
        Mitigation(id: id, description: "d", state: state, applies: applies, actions: [.doNothing(description: nil)])
    }

    @Test func addedBuildsJoinTheCatalogAuditedAndAllOrNothing() throws {
        let temporary = try TestDatabase()
        let store = CatalogStore(database: temporary.database)
        let result = try store.add([(nil, Self.nov26)], context: ChangeContext(actor: "alice"))
        #expect(result.added.map(\.catalogName.canonical) == ["Exchange2019 CU15 Nov26SU"])
        #expect(try store.catalog().entry(named: CatalogName(parsing: "Exchange 2019 CU15 Nov26SU"))?.build.description == "15.2.1748.55")
        #expect(try store.add([(nil, Self.nov26)], context: ChangeContext(actor: "alice")).unchanged == 1, "adding it again changes nothing")

        let entries = try AuditLog(database: temporary.database).entries().items
        #expect(entries.map(\.action) == [CatalogStore.addAction])
        #expect(entries.first?.actor == "alice")
        #expect(entries.first?.outcome == "ok: Exchange2019 CU15 Nov26SU 15.2.1748.55 released 2026-11")

        let good = CatalogRowInput(product: "Exchange2019", cu: "CU16", update: nil, build: "15.2.1800.5", released: "2026-12-01")
        let bad = CatalogRowInput(product: "Exchange2019", cu: "CU16", update: "Jan27SU", build: "15.2.1800.2", released: "2027-01")
        #expect(throws: CatalogChangeError.self) { try store.add([(2, good), (3, bad)], context: .localUser) }
        #expect(try store.catalog().entry(named: CatalogName(parsing: "Exchange2019 CU16")) == nil, "a refused batch adds nothing")
        #expect(try AuditLog(database: temporary.database).entries().items.count == 1)

        // Every process sees the rows: a second connection to the same file.
        #expect(try CatalogStore(database: temporary.reopen()).catalog().entries.count == BuildCatalog.embedded.entries.count + 1)
    }

    @Test func listsPageByPageWithFilters() throws {
        let temporary = try TestDatabase()
        let store = CatalogStore(database: temporary.database)
        try store.add([(nil, Self.nov26)], context: .localUser)
        var seen: [CatalogStore.Row] = []
        try PageRequest.walk(limit: 7, read: { try store.list(page: $0) }, handle: { seen += $0.items })
        #expect(seen.count == BuildCatalog.embedded.entries.count + 1)
        #expect(seen.map(\.entry.build) == seen.map(\.entry.build).sorted())
        let cu15 = try store.list(product: .exchange2019, cu: "CU15").items
        #expect(cu15.first?.entry.update == nil && cu15.last?.entry.update == "Nov26SU")
        #expect(cu15.last?.source == "added" && cu15.first?.source == "embedded")
        let rtm = try store.list(cu: "RTM").items
        #expect(rtm.allSatisfy { $0.entry.cumulativeUpdate == "RTM" } && Set(rtm.map(\.entry.product)) == Set(ExchangeProduct.allCases))
    }

    @Test func raisesTheSerialOnlyWhenAPublishedRuleNowAppliesElsewhere() throws {
        let temporary = try TestDatabase()
        let rules = RuleStore(database: temporary.database)
        let catalog = CatalogStore(database: temporary.database)
        try rules.importRules([Self.rule("ALL", nil), Self.rule("OLD", Applicability(narrowing: .fixedBy("Oct22SU")))])
        let serial = try rules.serial()
        #expect(try !catalog.add([(nil, Self.nov26)], context: .localUser).serialRaised, "no published rule's builds changed")
        #expect(try rules.serial() == serial)

        // A rule on CU15's newest build onwards: the new update is one more build it applies to.
        try rules.importRules([Self.rule("NEW", Applicability(narrowing: .fixedBy("Sep26SU")))])
        let before = try rules.serial()
        let set = try rules.publishedSet()
        #expect(set.catalog.entry(named: try CatalogName(parsing: "Exchange2019 CU15 Nov26SU")) != nil, "the published set carries the catalog in effect")
        let dec26 = CatalogRowInput(product: "ExchangeSE", cu: "RTM", update: "Nov26SU", build: "15.2.2562.60", released: "2026-11")
        #expect(try !catalog.add([(nil, dec26)], context: .localUser).serialRaised)
        let cu16 = CatalogRowInput(product: "Exchange2019", cu: "CU16", update: nil, build: "15.2.1800.5", released: "2026-12-01")
        try rules.importRules([Self.rule("NOV", Applicability(narrowing: .fixedBy("Nov26SU")))])
        let withNov = try rules.serial()
        #expect(withNov == before + 1)
        // CU16, released after Nov26SU, contains the fix: the rule stops applying to its build.
        #expect(try catalog.add([(nil, cu16)], context: .localUser).serialRaised)
        #expect(try rules.serial() == withNov + 1)
    }

    @Test func publishingRefusesARuleThatCanMatchNothing() throws {
        let temporary = try TestDatabase()
        let rules = RuleStore(database: temporary.database)
        let nothing = Applicability(products: [.exchange2016], narrowing: .ranges([BuildRange(fromBuild: try ExchangeBuild(parsing: "15.2.1118.7"), untilBuild: nil)]))
        try rules.put(Self.rule("DEAD", nothing, .draft), context: .localUser)
        #expect(throws: RuleChangeError.unpublishable(id: "DEAD", reasons: [RuleProblem(field: "applies.ranges[0]", message: "matches no build of Exchange2016: it can match nothing")])) {
            try rules.publish(id: "DEAD", to: .everyone, context: .localUser)
        }
        #expect(throws: RuleChangeError.self) { try rules.importRules([Self.rule("DEAD2", nothing)]) }
        #expect(try rules.record(id: "DEAD2") == nil, "the import was all or nothing")
        #expect(try rules.serial() == 0)

        // A rule naming an update the catalog learns later publishes once it is added.
        let later = Applicability(products: [.exchange2019], narrowing: .fixedBy("Nov26SU"))
        try temporary.database.write { db in
            try db.execute("INSERT INTO rule_revisions (rule_id, revision, content, author, created_at) VALUES ('LATER', 1, ?, 'test', '2026-11-23T00:00:00.000Z')", [RuleStore.content(Self.rule("LATER", later))])
            try db.execute("INSERT INTO rules (id, state, content, created_at, updated_at, revision, latest_revision) VALUES ('LATER', 'draft', ?, '2026-11-23T00:00:00.000Z', '2026-11-23T00:00:00.000Z', 1, 1)", [RuleStore.content(Self.rule("LATER", later))])
        }
        #expect(throws: RuleChangeError.self) { try rules.publish(id: "LATER", to: .everyone, context: .localUser) }
        try CatalogStore(database: temporary.database).add([(nil, Self.nov26)], context: .localUser)
        #expect(try rules.publish(id: "LATER", to: .everyone, context: .localUser).rule.state == .published)
    }
}
