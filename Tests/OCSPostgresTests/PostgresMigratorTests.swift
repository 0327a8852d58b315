import Foundation
import OCSStorage
import OCSTestSupport
import PostgresNIO
import Testing
@testable import OCSPostgres

struct PostgresMigratorTests {
    static let logger = PostgresTestDatabase.quietLogger

    @Test func embeddedMigrationsAreThePostgresFolderWithTheSQLiteIds() throws {
        let folder = URL(fileURLWithPath: #filePath).appendingPathComponent("../../../Migrations/postgres").standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(PostgresMigrator.embedded.map(\.id) == files.map { String($0.dropLast(4)) })
        for (migration, file) in zip(PostgresMigrator.embedded, files) {
            #expect(migration.sql == (try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)))
        }
        #expect(PostgresMigrator.embedded.map(\.id) == OCSDatabase.migrations.map(\.name), "one PostgreSQL migration per SQLite migration, same ids")
    }

    @Test func migratesAFreshDatabaseToEveryMigrationThenDoesNothing() async throws {
        try await PostgresTestDatabase.with { _, client in
            let migrator = PostgresMigrator(logger: Self.logger)
            let ids = OCSDatabase.migrations.map(\.name)
            let before = try await migrator.appliedMigrations(client)
            #expect(before == [])
            let appliedFirst = try await migrator.migrate(client)
            #expect(appliedFirst == ids)
            #expect(try await migrator.appliedMigrations(client) == ids)
            let appliedAgain = try await migrator.migrate(client)
            #expect(appliedAgain == [], "migrating again applies nothing")
            #expect(try await migrator.appliedMigrations(client) == ids)
            #expect(try await Self.count("feed_state", client) == 1, "no migration ran twice")
            #expect(try await Self.advisoryLocksHeld(client) == 0, "the pooled connection does not keep the lock")
        }
    }

    /// Replicas starting together: each migrator waits for the advisory lock, so every migration
    /// is applied once, by one of them, and both succeed.
    @Test func concurrentMigratorsApplyEachMigrationOnce() async throws {
        try await PostgresTestDatabase.with { database, client in
            try await database.withClient { other in
                async let first = PostgresMigrator(logger: Self.logger).migrate(client)
                async let second = PostgresMigrator(logger: Self.logger).migrate(other)
                let (a, b) = try await (first, second)
                let ids = OCSDatabase.migrations.map(\.name)
                #expect((a + b).sorted() == ids, "each applied exactly once between them")
                #expect(Set(a).isDisjoint(with: b))
            }
            #expect(try await PostgresMigrator(logger: Self.logger).appliedMigrations(client) == OCSDatabase.migrations.map(\.name))
            #expect(try await Self.count("ocs_migrations", client) == OCSDatabase.migrations.count)
        }
    }

    @Test func refusesADatabaseWithMigrationsThisBinaryDoesNotKnow() async throws {
        try await PostgresTestDatabase.with { _, client in
            let migrator = PostgresMigrator(logger: Self.logger)
            try await migrator.migrate(client)
            try await client.query("INSERT INTO ocs_migrations (id) VALUES (\("0099_from_a_newer_ocs"))")
            await #expect(throws: PostgresMigrationError.unknownMigrations(["0099_from_a_newer_ocs"])) { try await migrator.migrate(client) }
            let error = PostgresMigrationError.unknownMigrations(["0099_from_a_newer_ocs"])
            #expect(error.description.contains("0099_from_a_newer_ocs"))
        }
        // On a database that has only the unknown one, nothing is applied either.
        try await PostgresTestDatabase.with { _, client in
            try await client.query("CREATE TABLE ocs_migrations (id TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            try await client.query("INSERT INTO ocs_migrations (id) VALUES (\("0099_from_a_newer_ocs"))")
            await #expect(throws: PostgresMigrationError.unknownMigrations(["0099_from_a_newer_ocs"])) {
                try await PostgresMigrator(logger: Self.logger).migrate(client)
            }
            #expect(try await Self.exists("rules", client) == false)
        }
    }

    /// A database the migrator cannot read is refused in the server's words, not postgres-nio's
    /// generic ones.
    @Test func aDatabaseItCannotReadIsNamedInTheServersWords() async throws {
        try await PostgresTestDatabase.with { _, client in
            try await client.query("CREATE TABLE ocs_migrations (name TEXT)")
            do {
                try await PostgresMigrator(logger: Self.logger).migrate(client)
                Issue.record("migrated a database whose ocs_migrations has no id")
            } catch let error as PostgresMigrationError {
                guard case .database(let reason) = error else { Issue.record("\(error)"); return }
                #expect(reason.contains("column \"id\" does not exist"), "\(reason)")
                #expect(error.description.hasPrefix("cannot migrate the PostgreSQL database: "))
            }
            #expect(try await Self.exists("rules", client) == false)
        }
    }

    /// Each migration is one transaction with its record: a failing one leaves nothing behind and
    /// the ones before it stay applied.
    @Test func aFailingMigrationIsRolledBackWholeAndNamed() async throws {
        try await PostgresTestDatabase.with { _, client in
            let migrator = PostgresMigrator(migrations: [
                ("0001_good", "CREATE TABLE good (x BIGINT);"),
                ("0002_bad", "CREATE TABLE half (x BIGINT);\nSELECT no_such_column FROM good;"),
                ("0003_after", "CREATE TABLE after (x BIGINT);"),
            ], logger: Self.logger)
            do {
                try await migrator.migrate(client)
                Issue.record("the bad migration was applied")
            } catch let error as PostgresMigrationError {
                guard case .failed(let id, let reason) = error else { Issue.record("\(error)"); return }
                #expect(id == "0002_bad")
                #expect(reason.contains("no_such_column"), "the server's own words: \(reason)")
            }
            #expect(try await migrator.appliedMigrations(client) == ["0001_good"])
            #expect(try await Self.exists("good", client))
            #expect(try await Self.exists("half", client) == false, "the failed migration's first statement is rolled back")
            #expect(try await Self.exists("after", client) == false)
            #expect(try await Self.advisoryLocksHeld(client) == 0, "the lock is released when a migration fails")
            await #expect(throws: PostgresMigrationError.self) { try await migrator.migrate(client) }
        }
    }

    static func count(_ table: String, _ client: PostgresClient) async throws -> Int {
        // `table` is a constant of the test, never input.
        try await client.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table)")).collect().first!.decode(Int.self)
    }

    /// Advisory locks held in this database by any session: a pooled connection that kept the
    /// migrators' lock would show here (a session may take its own lock again, so a second migrate
    /// on the same connection would not notice).
    static func advisoryLocksHeld(_ client: PostgresClient) async throws -> Int {
        try await client.query("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())").collect().first!.decode(Int.self)
    }

    static func exists(_ table: String, _ client: PostgresClient) async throws -> Bool {
        try await client.query("SELECT to_regclass(\(table)) IS NOT NULL").collect().first!.decode(Bool.self)
    }
}
