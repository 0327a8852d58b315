import Foundation
import Logging
import OCSPostgres
import OCSStorage
import PostgresNIO

/// A fresh, empty PostgreSQL database on the test cluster (scripts/postgres-cluster.sh, which
/// scripts/test.sh starts), made for one test and dropped after it.
///
/// The cluster is named by `OCS_TEST_POSTGRES_URL` (a role that may create databases). Without it
/// a test that needs PostgreSQL fails, never skips: CI runs every test on both engines.
public struct PostgresTestDatabase: Sendable {
    /// The new database's location: the cluster's, with the new database's name.
    public let location: PostgresLocation

    /// Runs `body` with a new empty database and a running client on it, then drops the database.
    public static func with<Result: Sendable>(
        _ body: (PostgresTestDatabase, PostgresClient) async throws -> Result
    ) async throws -> Result {
        let cluster = try clusterLocation()
        // Made here, never from input: safe to write into the statements as an identifier.
        let name = "ocs_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        do {
            try await withClient(cluster) { admin in
                _ = try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
            }
        } catch {
            throw PostgresTestDatabaseError.revealed(error)
        }
        var location = cluster
        location.database = name
        let database = PostgresTestDatabase(location: location)
        let result: Result
        do {
            result = try await withClient(location) { client in try await body(database, client) }
        } catch {
            try? await database.drop(from: cluster)
            throw PostgresTestDatabaseError.revealed(error)
        }
        do {
            try await database.drop(from: cluster)
        } catch {
            throw PostgresTestDatabaseError.revealed(error)
        }
        return result
    }

    /// Runs `body` with another running client on this database, as another replica would have.
    public func withClient<Result: Sendable>(_ body: (PostgresClient) async throws -> Result) async throws -> Result {
        try await Self.withClient(location, body)
    }

    /// A logger that says nothing: migrations and connections would fill the test output.
    public static let quietLogger = Logger(label: "ocs.tests.postgres") { _ in SwiftLogNoOpLogHandler() }

    private func drop(from cluster: PostgresLocation) async throws {
        try await Self.withClient(cluster) { admin in
            _ = try await admin.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(location.database) WITH (FORCE)"))
        }
    }

    private static func clusterLocation() throws -> PostgresLocation {
        guard let url = ProcessInfo.processInfo.environment["OCS_TEST_POSTGRES_URL"], !url.isEmpty else {
            throw PostgresTestDatabaseError.noCluster
        }
        guard case .postgres(let location) = try DatabaseLocation(parsing: url) else {
            throw PostgresTestDatabaseError.notPostgres(url)
        }
        return location
    }

    /// Runs `body` while a client on `location` runs in a task of its own, as a ServiceGroup would run it.
    public static func withClient<Result: Sendable>(
        _ location: PostgresLocation,
        _ body: (PostgresClient) async throws -> Result
    ) async throws -> Result {
        let client = PostgresClient(configuration: .init(location, password: nil), backgroundLogger: quietLogger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }
}

public enum PostgresTestDatabaseError: Error, CustomStringConvertible {
    case noCluster
    case notPostgres(String)
    /// A PostgreSQL error a test did not expect, with the server's words: postgres-nio's own
    /// description hides them, and a failing test must say why it failed.
    case postgres(String)

    static func revealed(_ error: any Error) -> any Error {
        if error is PSQLError || error is PostgresTransactionError {
            return PostgresTestDatabaseError.postgres(String(reflecting: error))
        }
        return error
    }

    public var description: String {
        switch self {
        case .noCluster:
            "OCS_TEST_POSTGRES_URL is not set: this test needs PostgreSQL. Start a cluster with "
                + "`scripts/postgres-cluster.sh start $(mktemp -d)` and export the URL it prints (scripts/test.sh does both)"
        case .notPostgres(let url):
            "OCS_TEST_POSTGRES_URL=\(url) is not a postgres:// URL"
        case .postgres(let details):
            details
        }
    }
}
