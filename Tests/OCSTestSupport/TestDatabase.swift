import Foundation
import OCSPostgres
import OCSStorage

/// A new, empty, migrated database on the engine under test: SQLite unless `OCS_TEST_ENGINE` is
/// `postgres` (scripts/test.sh runs the store and operation suites once on each engine, the
/// conformance run). A PostgreSQL one is a database of its own on the test cluster
/// (`OCS_TEST_POSTGRES_URL`), left for the cluster's removal.
public final class TestDatabase {
    public let database: any SQLDatabase
    private let location: Location

    private enum Location {
        case sqlite(folder: URL, path: String)
        case postgres(PostgresLocation)
    }

    /// The engine the suites run on in this process.
    public static var engine: SQLEngine {
        ProcessInfo.processInfo.environment["OCS_TEST_ENGINE"] == "postgres" ? .postgres : .sqlite
    }

    public init() throws {
        switch Self.engine {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ocs-db-\(UUID().uuidString)")
            let path = folder.appendingPathComponent("ocs.sqlite").path
            location = .sqlite(folder: folder, path: path)
            database = try OCSDatabase(path: path)
        case .postgres:
            let postgres = try Self.createPostgresDatabase()
            location = .postgres(postgres)
            database = try Self.open(postgres)
        }
    }

    /// A second, independent handle on the same database: another process on the file, or
    /// another replica's client.
    public func reopen() throws -> any SQLDatabase {
        switch location {
        case .sqlite(_, let path): try OCSDatabase(path: path)
        case .postgres(let postgres): try Self.open(postgres)
        }
    }

    deinit {
        if case .sqlite(let folder, _) = location { try? FileManager.default.removeItem(at: folder) }
    }

    /// A fresh database's handle, when nothing else of it is needed: in memory on SQLite.
    public static func fresh() throws -> any SQLDatabase {
        switch engine {
        case .sqlite: try OCSDatabase.inMemory()
        case .postgres: try open(createPostgresDatabase())
        }
    }

    /// A fresh PostgreSQL database, whatever engine the suites run on: for PostgreSQL's own tests.
    public static func freshPostgres() throws -> any SQLDatabase {
        try open(createPostgresDatabase())
    }

    private static func open(_ location: PostgresLocation) throws -> any SQLDatabase {
        var options = PostgresDatabaseOptions()
        // Many tests run at once, each with a database of its own: few connections each.
        options.maximumConnections = 4
        options.leaseDeadline = .seconds(30)
        return try PostgresDatabase(location, password: nil, logger: PostgresTestDatabase.quietLogger, options: options)
    }

    /// Creates an empty database on the test cluster with psql, which needs no client of ours running.
    public static func createPostgresDatabase() throws -> PostgresLocation {
        guard let url = ProcessInfo.processInfo.environment["OCS_TEST_POSTGRES_URL"], !url.isEmpty else {
            throw PostgresTestDatabaseError.noCluster
        }
        guard case .postgres(var location) = try DatabaseLocation(parsing: url) else {
            throw PostgresTestDatabaseError.notPostgres(url)
        }
        // Made here, never from input: safe to write into the statement as an identifier.
        let name = "ocs_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let created = try Command.run("psql", ["--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", url, "--command=CREATE DATABASE \(name)"])
        guard created.status == 0 else {
            throw PostgresTestDatabaseError.postgres("psql could not create a test database: \(created.stderr)")
        }
        location.database = name
        return location
    }
}
