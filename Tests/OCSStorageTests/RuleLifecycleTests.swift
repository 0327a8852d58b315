import Foundation
import GRDB
import OCSDomain
import OCSTestSupport
import Testing
@testable import OCSStorage

struct RuleLifecycleTests {
    let alice = ChangeContext(actor: "alice", remoteAddress: "127.0.0.1")

    @Test func draftsEditsPublishRollbackAndRetire() throws {
        let temporary = try TestDatabase()
        let store = RuleStore(database: temporary.database)
        let v1 = Fixtures.rule("R", .draft, description: "one")
        #expect(try store.put(v1, context: alice).revision == 1)
        #expect(try store.publishedSet().rules.isEmpty, "a draft is not served")

        try store.publish(id: "R", to: .everyone, context: alice)
        #expect(try store.publishedSet().rules.map(\.description) == ["one"])

        // Editing a published rule leaves the published revision serving.
        let edited = try store.put(Fixtures.rule("R", .draft, description: "two"), expectedRevision: 1, context: alice)
        #expect(edited.revision == 1 && edited.latestRevision == 2)
        #expect(edited.rule.state == .published)
        #expect(try store.publishedSet().rules.map(\.description) == ["one"])

        try store.publish(id: "R", context: alice)
        #expect(try store.publishedSet().rules.map(\.description) == ["two"])
        try store.publish(id: "R", revision: 1, context: alice)
        #expect(try store.publishedSet().rules.map(\.description) == ["one"], "rolled back")
        #expect(try store.record(id: "R")?.latestRevision == 2)

        try store.retire(id: "R", context: alice)
        #expect(try store.publishedSet().rules.isEmpty)
        #expect(try store.revisions(id: "R").map(\.rule.description) == ["one", "two"])
        #expect(try store.revisions(id: "R").map(\.author) == ["alice", "alice"])

        let actions = try AuditLog(database: temporary.database).entries().items.map { "\($0.action) \($0.revision ?? 0) \($0.outcome)" }
        let everyone = "ok: released to everyone"
        #expect(actions == ["rule.put 1 ok", "rule.publish 1 \(everyone)", "rule.put 2 ok", "rule.publish 2 \(everyone)", "rule.publish 1 \(everyone)", "rule.retire 1 ok"])
    }

    @Test func staleRevisionsAreRefusedAndChangeNothing() throws {
        let temporary = try TestDatabase()
        let store = RuleStore(database: temporary.database)
        try store.put(Fixtures.rule("R", .draft), context: alice)
        #expect(throws: RuleChangeError.stale(id: "R", expected: 5, latest: 1)) {
            try store.put(Fixtures.rule("R", .draft, description: "late"), expectedRevision: 5, context: alice)
        }
        #expect(try store.revisions(id: "R").count == 1)
        let last = try #require(try AuditLog(database: temporary.database).entries().items.last)
        #expect(last.outcome.hasPrefix("refused: rule R is at revision 1, not 5"))
    }

    @Test func onlyNeverPublishedRulesCanBeDeleted() throws {
        let temporary = try TestDatabase()
        let store = RuleStore(database: temporary.database)
        try store.put(Fixtures.rule("D", .draft), context: alice)
        try store.delete(id: "D", context: alice)
        #expect(try store.record(id: "D") == nil)
        try store.put(Fixtures.rule("P", .draft), context: alice)
        try store.publish(id: "P", to: .everyone, context: alice)
        try store.retire(id: "P", context: alice)
        #expect(throws: RuleChangeError.self) { try store.delete(id: "P", context: alice) }
        #expect(throws: RuleChangeError.notFound("nope")) { try store.publish(id: "nope", context: alice) }
        #expect(throws: RuleChangeError.noSuchRevision(id: "P", revision: 9)) { try store.publish(id: "P", revision: 9, to: .everyone, context: alice) }
    }

    /// The store itself refuses to serve a rule that is not published without a release, so a
    /// caller that read the rule as published just before it was retired cannot republish it to
    /// every host by naming none.
    @Test func aRuleThatIsNotPublishedIsServedOnlyToAReleaseTheChangeNames() throws {
        let temporary = try TestDatabase()
        let store = RuleStore(database: temporary.database)
        try store.put(Fixtures.rule("R", .draft), context: alice)
        #expect(throws: RuleChangeError.releaseRequired(id: "R", state: "draft")) { try store.publish(id: "R", context: alice) }
        #expect(try store.record(id: "R")?.rule.state == .draft)
        #expect(try store.serial() == 0)

        try store.publish(id: "R", to: .everyone, context: alice)
        try store.retire(id: "R", context: alice)
        let serial = try store.serial()
        #expect(throws: RuleChangeError.releaseRequired(id: "R", state: "retired")) { try store.publish(id: "R", revision: 1, context: alice) }
        #expect(try store.record(id: "R")?.rule.state == .retired)
        #expect(try store.serial() == serial)
        #expect(try store.publish(id: "R", revision: 1, to: .everyone, context: alice).rule.state == .published)

        // Approval keeps the same rule: a pending publish of a draft must name its release.
        try store.put(Fixtures.rule("D", .draft), context: alice)
        try ChangeStore(database: temporary.database).setRequireApproval(true, context: alice)
        #expect(throws: RuleChangeError.releaseRequired(id: "D", state: "draft")) {
            try ChangeStore(database: temporary.database).submit(.publish(id: "D", revision: nil, release: nil), context: alice)
        }
    }

    @Test func revisionsAndAuditCannotBeRewritten() throws {
        let temporary = try TestDatabase()
        try RuleStore(database: temporary.database).put(Fixtures.rule("R", .draft), context: alice)
        #expect(throws: (any Error).self) { try temporary.database.write { try $0.execute("UPDATE rule_revisions SET author = 'mallory'") } }
        #expect(throws: (any Error).self) { try temporary.database.write { try $0.execute("UPDATE audit_log SET actor = 'mallory'") } }
        #expect(throws: (any Error).self) { try temporary.database.write { try $0.execute("DELETE FROM audit_log") } }
    }

    @Test func importWithPublishAndReimportIsANoOp() throws {
        let temporary = try TestDatabase()
        let store = RuleStore(database: temporary.database)
        #expect(try store.importRules([Fixtures.rule("A", .draft)], publish: true, context: alice) == .init(created: ["A"]))
        #expect(try store.record(id: "A")?.rule.state == .published)
        #expect(try store.importRules([Fixtures.rule("A", .published)], context: alice) == .init(unchanged: ["A"]))
        #expect(try store.revisions(id: "A").count == 1)
    }
}

struct TokenStoreTests {
    @Test func createsAuthenticatesAndRevokes() throws {
        let temporary = try TestDatabase()
        let tokens = TokenStore(database: temporary.database)
        let secret = try tokens.create(name: "ci", role: .publisher, context: .localUser)
        #expect(secret.hasPrefix("ocs_") && secret.count > 40)
        #expect(try tokens.authenticate(secret)?.role == .publisher)
        #expect(try tokens.authenticate(secret + "x") == nil)
        #expect(throws: TokenError.nameTaken("ci")) { try tokens.create(name: "ci", role: .reader, context: .localUser) }
        #expect(throws: TokenError.invalidName("a b")) { try tokens.create(name: "a b", role: .reader, context: .localUser) }
        try tokens.revoke(name: "ci", context: .localUser)
        #expect(try tokens.authenticate(secret) == nil)
        #expect(throws: TokenError.notFound("ci")) { try tokens.revoke(name: "ci", context: .localUser) }
        // Only the hash is stored.
        let stored = try temporary.database.read { try $0.value(Data.self, "SELECT token_hash FROM api_tokens") }
        #expect(stored?.count == 32)
        let audit = try AuditLog(database: temporary.database).entries().items
        #expect(!audit.contains { $0.outcome.contains(secret) })
    }

    @Test func aRevokedNameCanBeReusedWhileALiveNameStaysUnique() throws {
        let temporary = try TestDatabase()
        let tokens = TokenStore(database: temporary.database)
        let first = try tokens.create(name: "ci", role: .admin, context: .localUser)
        try tokens.revoke(name: "ci", context: .localUser)
        let second = try tokens.create(name: "ci", role: .reader, context: .localUser)
        #expect(try tokens.authenticate(first) == nil, "the revoked token stays revoked")
        #expect(try tokens.authenticate(second)?.role == .reader)
        #expect(throws: TokenError.nameTaken("ci")) { try tokens.create(name: "ci", role: .admin, context: .localUser) }
        #expect(try tokens.list().map { "\($0.name) \($0.role.rawValue) \($0.revokedAt == nil)" } == ["ci reader true"])
        #expect(try tokens.list(includingRevoked: true).map { "\($0.name) \($0.role.rawValue) \($0.revokedAt == nil)" } == ["ci admin false", "ci reader true"])
        // The partial index holds even against a write that skips the store's check.
        #expect(throws: (any Error).self) {
            try temporary.database.write { db in
                try db.execute("INSERT INTO api_tokens (name, role, token_hash, created_at) VALUES ('ci', 'admin', ?, '2026-01-01T00:00:00.000Z')", [Data([0])])
            }
        }
        try tokens.revoke(name: "ci", context: .localUser)
        #expect(try tokens.list().isEmpty)
        #expect(try tokens.list(includingRevoked: true).count == 2)
    }

    /// Tokens made before names became reusable survive the table's rebuild and still work.
    @Test func tokensFromBeforeTheRebuildKeepWorking() throws {
        let folder = try ScratchFolder()
        let path = folder.path("old.sqlite")
        var before = DatabaseMigrator()
        for migration in OCSDatabase.migrations where migration.name < "0005" {
            before.registerMigration(migration.name) { db in try db.execute(sql: migration.sql) }
        }
        let secret = "ocs_old-secret"
        let queue = try DatabaseQueue(path: path)
        try before.migrate(queue)
        try queue.write { db in
            try db.execute(
                sql: "INSERT INTO api_tokens (name, role, token_hash, created_at, revoked_at) VALUES ('old', 'admin', ?, '2026-01-01T00:00:00.000Z', NULL), ('gone', 'reader', x'01', '2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z')",
                arguments: [TokenStore.hash(secret)]
            )
        }
        try queue.close()
        let tokens = TokenStore(database: try OCSDatabase(path: path))
        #expect(try tokens.authenticate(secret)?.name == "old")
        #expect(try tokens.list(includingRevoked: true).map(\.name) == ["gone", "old"])
        _ = try tokens.create(name: "gone", role: .reader, context: .localUser)
    }
}
