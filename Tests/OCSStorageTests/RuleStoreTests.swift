import Foundation
import GRDB
import OCSDomain
import OCSTestSupport
import Testing
@testable import OCSStorage

struct RuleStoreTests {
    @Test func importsCreatesUpdatesAndSkipsUnchanged() throws {
        let temporary = try TemporaryDatabase()
        let store = RuleStore(database: temporary.database)
        #expect(try store.isEmpty())
        #expect(try store.importRules([Fixtures.rule("A", .published), Fixtures.rule("B", .draft)]) == .init(created: ["A", "B"]))
        #expect(try store.importRules([Fixtures.rule("A", .published), Fixtures.rule("B", .published, description: "new")]) == .init(updated: ["B"], unchanged: ["A"]))
        #expect(try store.rule(id: "B") == Fixtures.rule("B", .published, description: "new"))
        #expect(try store.rule(id: "nope") == nil)
        #expect(try !store.isEmpty())
    }

    @Test func serialMovesOnlyWithThePublishedSet() throws {
        let temporary = try TemporaryDatabase()
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

    @Test func serialSeesWritesFromAnotherConnection() throws {
        let temporary = try TemporaryDatabase()
        let server = RuleStore(database: temporary.database)
        let other = RuleStore(database: try temporary.reopen())
        #expect(try server.serial() == 0)
        try other.importRules([Fixtures.rule("A", .published)])
        #expect(try server.serial() == 1)
        #expect(try server.publishedSet().rules.map(\.id) == ["A"])
    }

    @Test func reportsACorruptRuleRow() throws {
        let temporary = try TemporaryDatabase()
        try temporary.database.writer.write { db in
            try db.execute(sql: "INSERT INTO rules (id, state, content, created_at, updated_at) VALUES ('Z', 'published', '{not json', '', '')")
        }
        #expect(throws: StorageError.self) { try RuleStore(database: temporary.database).all() }
    }
}
