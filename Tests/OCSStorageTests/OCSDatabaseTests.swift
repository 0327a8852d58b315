import Foundation
import GRDB
import OCSTestSupport
import Testing
@testable import OCSStorage

struct OCSDatabaseTests {
    @Test func embeddedMigrationsAreTheMigrationsFolder() throws {
        let folder = URL(fileURLWithPath: #filePath).appendingPathComponent("../../../Migrations").standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(!files.isEmpty)
        #expect(OCSDatabase.migrations.map(\.name) == files.map { String($0.dropLast(4)) })
        for (migration, file) in zip(OCSDatabase.migrations, files) {
            #expect(migration.sql == (try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)))
        }
    }

    @Test func createsTheFolderAndUsesWALWithFullSync() throws {
        let temporary = try TemporaryDatabase()
        #expect(FileManager.default.fileExists(atPath: temporary.path))
        let (mode, synchronous) = try temporary.database.writer.read { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"))
        }
        #expect(mode == "wal")
        #expect(synchronous == 2)
        #expect(try temporary.database.appliedMigrations() == OCSDatabase.migrations.map(\.name))
    }

    @Test func migratesOnceAcrossReopens() throws {
        let temporary = try TemporaryDatabase()
        try RuleStore(database: temporary.database).importRules([Fixtures.rule("A", .published)])
        let again = try temporary.reopen()
        #expect(try RuleStore(database: again).all().map(\.rule.id) == ["A"])
        #expect(try again.appliedMigrations().count == OCSDatabase.migrations.count)
    }

    @Test func refusesAFileThatIsNotADatabase() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ocs-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("garbage.sqlite").path
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: path))
        #expect(throws: StorageError.self) { try OCSDatabase(path: path) }
    }

    /// A commit is durable only to the file a restart opens: one deleted, moved or replaced under
    /// the open database, or on a file system nearly full, is a problem, named without the path.
    @Test func durabilityProblemsAreTheFileGoneReplacedOrOutOfSpace() throws {
        #expect(try OCSDatabase.inMemory().durabilityProblem() == nil)
        let temporary = try TemporaryDatabase()
        let database = temporary.database
        #expect(database.durabilityProblem() == nil)
        #expect(database.durabilityProblem(minimumFreeBytes: UInt64.max)?.contains("MiB free, below the") == true)

        let moved = temporary.path + ".moved"
        try FileManager.default.moveItem(atPath: temporary.path, toPath: moved)
        let gone = try #require(database.durabilityProblem())
        #expect(gone.contains("deleted or moved") && !gone.contains(temporary.folder.path), "\(gone)")

        // Another file at the path (a restore copied over it, say): not the one the pool writes to.
        try FileManager.default.copyItem(atPath: moved, toPath: temporary.path)
        let replaced = try #require(database.durabilityProblem())
        #expect(replaced.contains("replaced") && !replaced.contains(temporary.folder.path), "\(replaced)")

        // Moved back: the same file again.
        try FileManager.default.removeItem(atPath: temporary.path)
        try FileManager.default.moveItem(atPath: moved, toPath: temporary.path)
        #expect(database.durabilityProblem() == nil)
    }
}
