import Foundation
import Logging
import PostgresNIO

/// Brings a PostgreSQL database to this binary's schema: the embedded `Migrations/postgres/*.sql`,
/// whose ids are those of the SQLite migrations.
///
/// Replicas starting together must not race, so the whole run holds a session-level advisory lock
/// (`pg_advisory_lock(PostgresMigrator.advisoryLockKey)`) on one connection: a second migrator waits,
/// then finds nothing left to do. Each migration applies in its own transaction together with its
/// row in `ocs_migrations`, so it is applied entirely and recorded, or not at all.
public struct PostgresMigrator: Sendable {
    /// The advisory lock every ocs migrator takes: the bytes of "ocs_migr" as a big-endian integer.
    /// Fixed forever, so binaries of any version exclude each other.
    public static let advisoryLockKey: Int64 = 0x6F63_735F_6D69_6772

    /// The migrations compiled into the binary, by id, in the order they apply.
    public static var embedded: [(id: String, sql: String)] {
        EmbeddedMigrations.all.map { ($0.name, String(decoding: $0.sql, as: UTF8.self)) }
    }

    private let migrations: [(id: String, sql: String)]
    private let logger: Logger

    public init(logger: Logger) {
        self.init(migrations: Self.embedded, logger: logger)
    }

    /// A migrator of other migrations: for the tests of the migrator itself.
    init(migrations: [(id: String, sql: String)], logger: Logger) {
        self.migrations = migrations
        self.logger = logger
    }

    /// Applies every migration the database lacks, in order; returns the ids applied now (none when
    /// the database was current). Refuses, changing nothing, a database that has applied migrations
    /// this binary does not know (a newer ocs migrated it).
    @discardableResult
    public func migrate(_ client: PostgresClient) async throws(PostgresMigrationError) -> [String] {
        do {
            return try await migrateHoldingTheLock(client)
        } catch let error as PostgresMigrationError {
            throw error
        } catch {
            throw .database(reason: PostgresErrorText.describe(error))
        }
    }

    private func migrateHoldingTheLock(_ client: PostgresClient) async throws -> [String] {
        try await client.withConnection { connection in
            try await withMigrationLock(connection) {
                try await connection.query(
                    "CREATE TABLE IF NOT EXISTS ocs_migrations (id TEXT COLLATE \"C\" PRIMARY KEY NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                    logger: logger
                )
                let applied = Set(try await appliedMigrations(connection))
                let unknown = applied.subtracting(migrations.map(\.id)).sorted()
                guard unknown.isEmpty else {
                    throw PostgresMigrationError.unknownMigrations(unknown)
                }
                var appliedNow: [String] = []
                for migration in migrations where !applied.contains(migration.id) {
                    try await apply(migration, on: connection)
                    appliedNow.append(migration.id)
                }
                return appliedNow
            }
        }
    }

    /// The ids of the migrations the database has applied, in order; none for a database no
    /// migrator has touched.
    public func appliedMigrations(_ client: PostgresClient) async throws(PostgresMigrationError) -> [String] {
        do {
            return try await client.withConnection { connection in
                try await appliedMigrations(connection)
            }
        } catch {
            throw .database(reason: PostgresErrorText.describe(error))
        }
    }

    private func appliedMigrations(_ connection: PostgresConnection) async throws -> [String] {
        let exists = try await connection.query("SELECT to_regclass('ocs_migrations') IS NOT NULL", logger: logger)
        for try await found in exists.decode(Bool.self) where !found {
            return []
        }
        var ids: [String] = []
        for try await id in try await connection.query("SELECT id FROM ocs_migrations ORDER BY id", logger: logger).decode(String.self) {
            ids.append(id)
        }
        return ids
    }

    private func apply(_ migration: (id: String, sql: String), on connection: PostgresConnection) async throws {
        logger.info("applying PostgreSQL migration", metadata: ["migration": "\(migration.id)"])
        do {
            try await connection.withTransaction(logger: logger) { transaction in
                for statement in SQLScript.statements(migration.sql) {
                    // The statements are the binary's own migration text, never a user's value.
                    try await transaction.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await transaction.query("INSERT INTO ocs_migrations (id) VALUES (\(migration.id))", logger: logger)
            }
        } catch {
            throw PostgresMigrationError.failed(id: migration.id, reason: PostgresErrorText.describe(error))
        }
    }

    /// Runs `body` holding the advisory lock on `connection`, and releases it whatever `body` does:
    /// the connection goes back to the pool afterwards and must not keep the lock.
    private func withMigrationLock<Result: Sendable>(
        _ connection: PostgresConnection,
        _ body: () async throws -> Result
    ) async throws -> Result {
        try await connection.query("SELECT pg_advisory_lock(\(Self.advisoryLockKey))", logger: logger)
        let result: Result
        do {
            result = try await body()
        } catch {
            _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))", logger: logger)
            throw error
        }
        try await connection.query("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))", logger: logger)
        return result
    }
}

public enum PostgresMigrationError: Error, Equatable, CustomStringConvertible {
    /// The database has applied migrations this binary does not have.
    case unknownMigrations([String])
    /// A migration failed and was rolled back.
    case failed(id: String, reason: String)
    /// The database could not be reached or read before any migration ran.
    case database(reason: String)

    public var description: String {
        switch self {
        case .unknownMigrations(let ids):
            "the database has applied migrations this ocs does not know (\(ids.joined(separator: ", "))): it was migrated by a newer ocs; run that version"
        case .failed(let id, let reason):
            "PostgreSQL migration \(id) failed and was rolled back: \(reason)"
        case .database(let reason):
            "cannot migrate the PostgreSQL database: \(reason)"
        }
    }
}

/// The words of a PostgreSQL error: postgres-nio's own descriptions hide the server's message (it
/// may hold data), but a migration's or a constraint's message is the point of the error.
enum PostgresErrorText {
    static func describe(_ error: any Error) -> String {
        if let transaction = error as? PostgresTransactionError {
            if let inner = transaction.closureError ?? transaction.beginError ?? transaction.commitError {
                return describe(inner)
            }
        }
        if let error = error as? PSQLError {
            guard let server = error.serverInfo, let message = server[.message] else {
                return "\(error.code)" + (error.underlying.map { ": \(describe($0))" } ?? "")
            }
            return [server[.sqlState].map { "SQLSTATE \($0): " } ?? "", message, server[.detail].map { " (\($0))" } ?? ""].joined()
        }
        return String(describing: error)
    }
}
