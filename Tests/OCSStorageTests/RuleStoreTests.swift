import Foundation
import GRDB
import OCSDomain
import OCSTestSupport
import Testing
@testable import OCSStorage

struct RuleStoreTests {
    @Test func importsCreatesUpdatesAndSkipsUnchanged() throws {
        let temporary = try TestDatabase()
        let store = RuleStore(database: temporary.database)
        #expect(try store.isEmpty())
        #expect(try store.importRules([Fixtures.rule("A", .published), Fixtures.rule("B", .draft)]) == .init(created: ["A", "B"]))
        #expect(try store.importRules([Fixtures.rule("A", .published), Fixtures.rule("B", .published, description: "new")]) == .init(updated: ["B"], unchanged: ["A"]))
        #expect(try store.rule(id: "B") == Fixtures.rule("B", .published, description: "new"))
        #expect(try store.rule(id: "nope") == nil)
        #expect(try !store.isEmpty())
    }

    @Test func serialMovesOnlyWithThePublishedSet() throws {
        let temporary = try TestDatabase()
        let store = RuleStore(database: temporary.database)
        #expect(try store.serial() == 0)
        try store.importRules([Fixtures.rule("A", .published)])
        #expect(try store.serial() == 1)
        try store.importRules([Fixtures.rule("A", .published)])
        #expect(try store.serial() == 1, "re-importing the same rule changes nothing")
        try store.importRules([Fixtures.rule("D", .draft)])
        try store.importRules([Fixtures.rule("D", .draft, description: "edited draft")])
        #expect(try store.serial() == 1, "drafts are not served")
        try store.importRules([Fixtures.rule("D", .published, description: "edited draft")])
        #expect(try store.serial() == 2, "publishing changes the feed")
        try store.importRules([Fixtures.rule("A", .published, description: "new text")])
        #expect(try store.serial() == 3, "editing a published rule changes the feed")
        try store.importRules([Fixtures.rule("A", .retired, description: "new text")])
        #expect(try store.serial() == 4, "retiring changes the feed")
        let set = try store.publishedSet()
        #expect(set.serial == 4)
        #expect(set.rules.map(\.id) == ["D"])
    }

    /// A server clock that ran fast during one change (`faketime -f '+2d'`) left `issued` in the
    /// future; once the clock is fixed, every later serial must still carry an `issued` no earlier
    /// than that one, whichever way the serial moves (rule triggers, the catalog's bump).
    @Test func issuedNeverGoesBackWhenTheClockDoes() throws {
        let temporary = try TestDatabase()
        let store = RuleStore(database: temporary.database)
        func issued() throws -> String { try store.publishedSet().issued }
        let now = FeedTimeText.now()
        try store.importRules([Fixtures.rule("A", .published)])
        #expect(try issued() >= now, "a bump with a right clock issues now")
        // A published rule fixed by Nov26SU: CU16 (released after it) changes the builds it applies to.
        let catalog = CatalogStore(database: temporary.database)
        _ = try catalog.add([(nil, CatalogStoreTests.nov26)], context: .localUser)
        try store.importRules([CatalogStoreTests.rule("NOV", Applicability(narrowing: .fixedBy("Nov26SU")))])

        let fast = FeedTimeText.format(Date().addingTimeInterval(2 * 86400))
        try temporary.database.write { db in
            try db.execute("UPDATE feed_state SET issued_at = ? WHERE id = 1", [fast])
        }
        var serial = try store.serial()
        let bumps: [(String, () throws -> Void)] = [
            ("a rule published", { try store.importRules([Fixtures.rule("B", .published)]) }),
            ("a published rule edited", { try store.importRules([Fixtures.rule("B", .published, description: "new")]) }),
            ("a rule retired", { try store.importRules([Fixtures.rule("B", .retired, description: "new")]) }),
            ("a release changed", {
                try temporary.database.write { db in _ = try db.execute("UPDATE rules SET release_groups = '[\"pilot\"]' WHERE id = 'A'") }
            }),
            ("a published rule deleted", {
                try temporary.database.write { db in _ = try db.execute("DELETE FROM rules WHERE id = 'A'") }
            }),
            ("a catalog build that changes a published rule", {
                let cu16 = CatalogRowInput(product: "Exchange2019", cu: "CU16", update: nil, build: "15.2.1800.5", released: "2026-12-01")
                _ = try catalog.add([(nil, cu16)], context: .localUser)
            }),
        ]
        for (change, bump) in bumps {
            try bump()
            #expect(try store.serial() == serial + 1, "\(change) raises the serial")
            serial = try store.serial()
            #expect(try issued() == fast, "\(change): issued stays at the fast clock's time rather than going back")
        }

        // A clock stepped back a few minutes behind a right issued time: the same.
        let recent = FeedTimeText.format(Date().addingTimeInterval(180))
        try temporary.database.write { db in
            try db.execute("UPDATE feed_state SET issued_at = ? WHERE id = 1", [recent])
        }
        try store.importRules([Fixtures.rule("C", .published)])
        #expect(try issued() == recent)
    }

    @Test func serialSeesWritesFromAnotherConnection() throws {
        let temporary = try TestDatabase()
        let server = RuleStore(database: temporary.database)
        let other = RuleStore(database: try temporary.reopen())
        #expect(try server.serial() == 0)
        try other.importRules([Fixtures.rule("A", .published)])
        #expect(try server.serial() == 1)
        #expect(try server.publishedSet().rules.map(\.id) == ["A"])
    }

    @Test func reportsACorruptRuleRow() throws {
        let temporary = try TestDatabase()
        try temporary.database.write { db in
            try db.execute("INSERT INTO rules (id, state, content, created_at, updated_at) VALUES ('Z', 'published', '{not json', '', '')")
        }
        #expect(throws: StorageError.self) { try RuleStore(database: temporary.database).all() }
    }
}

/// `issued_at`'s form: UTC to the second, as SQLite's `strftime('%Y-%m-%dT%H:%M:%SZ', ...)` writes it.
enum FeedTimeText {
    static func format(_ date: Date) -> String { date.formatted(Date.ISO8601FormatStyle()) }
    static func now() -> String { format(Date()) }
}
