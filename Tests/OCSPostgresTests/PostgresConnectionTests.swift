import Foundation
import OCSPostgres
import OCSStorage
import OCSTestSupport
import PostgresNIO
import Testing

/// Client configurations from a location, against the test cluster, which offers TLS with a
/// self-signed certificate and listens on a Unix socket too.
struct PostgresConnectionTests {
    /// Whether the session runs over TLS, as the server sees it.
    static func usesTLS(_ client: PostgresClient) async throws -> Bool {
        let rows = try await client.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").collect()
        return try #require(rows.first).decode(Bool.self)
    }

    @Test func eachSSLModeGetsTheTLSItNames() async throws {
        try await PostgresTestDatabase.with { database, _ in
            var location = database.location
            location.sslMode = .disable
            let plain = try await PostgresTestDatabase.withClient(location) { try await Self.usesTLS($0) }
            #expect(plain == false)
            location.sslMode = .require
            let encrypted = try await PostgresTestDatabase.withClient(location) { try await Self.usesTLS($0) }
            #expect(encrypted == true, "TLS, the certificate unchecked")
            // The client retries a connection that fails, and fails its requests only once its
            // circuit breaker trips (60 s in postgres-nio 1.33, not configurable): this takes a minute.
            location.sslMode = .verifyFull
            await #expect(throws: (any Error).self, "a self-signed certificate fails verification") {
                try await PostgresTestDatabase.withClient(location) { try await Self.usesTLS($0) }
            }
        }
    }

    @Test func connectsThroughAUnixSocket() async throws {
        let url = try #require(ProcessInfo.processInfo.environment["OCS_TEST_POSTGRES_SOCKET_URL"], "OCS_TEST_POSTGRES_SOCKET_URL is not set (scripts/postgres-cluster.sh prints it)")
        guard case .postgres(let location) = try DatabaseLocation(parsing: url), case .unixSocket = location.server else {
            Issue.record("\(url) is not a Unix socket location"); return
        }
        let user = try await PostgresTestDatabase.withClient(location) { client in
            try await client.query("SELECT current_user").collect().first!.decode(String.self)
        }
        #expect(user == location.user)
    }
}
