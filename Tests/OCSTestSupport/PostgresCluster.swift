import Foundation

/// A PostgreSQL cluster of a test's own (scripts/postgres-cluster.sh), for tests that stop and
/// start the server under a running `ocs`; the shared test cluster must stay up for the others.
/// Stopped and removed when released.
public final class PostgresCluster {
    public let folder: URL
    /// The `ocs` database on it, as `--database` takes it.
    public let url: String

    public init() throws {
        // In /tmp: the server runs as the postgres user when the tests run as root, and must reach it.
        folder = URL(fileURLWithPath: "/tmp").appendingPathComponent("ocs-postgres-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let started = try Self.script("start", folder)
        guard let line = started.output.split(separator: "\n").first(where: { $0.hasPrefix("OCS_TEST_POSTGRES_URL=") }) else {
            throw PostgresClusterFailed(message: "postgres-cluster.sh start printed no URL: \(started.stderr)")
        }
        url = String(line.dropFirst("OCS_TEST_POSTGRES_URL=".count))
    }

    /// Stops the server (fast: open connections are closed).
    public func stop() throws { try Self.script("stop", folder) }

    /// Starts it again on the same port, with everything it had.
    public func resume() throws { try Self.script("resume", folder) }

    deinit {
        _ = try? Self.script("stop", folder)
        try? FileManager.default.removeItem(at: folder)
    }

    @discardableResult
    private static func script(_ command: String, _ folder: URL) throws -> CommandResult {
        let result = try Command.run("/bin/bash", [repository.appendingPathComponent("scripts/postgres-cluster.sh").path, command, folder.path], timeout: 120)
        guard result.status == 0 else { throw PostgresClusterFailed(message: "postgres-cluster.sh \(command): \(result.stderr)") }
        return result
    }

    private static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

public struct PostgresClusterFailed: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
