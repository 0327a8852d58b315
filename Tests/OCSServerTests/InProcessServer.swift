import Foundation
import Logging
import NIOCore
import OCSFeed
import OCSOperations
@testable import OCSServer
import OCSSigning
import OCSStorage
import OCSTestSupport

/// `HTTPServer` run in this process on a real SQLite file, for what only the server itself
/// decides: the address it binds, what it finds of its database while it runs.
final class InProcessServer: Sendable {
    static let signer = try! FeedSigner(identity: SigningIdentity.generate(commonName: "in-process server tests"))

    let server: HTTPServer
    let database: OCSDatabase

    init(database: OCSDatabase, configuration: HTTPServer.Configuration, onBound: @escaping @Sendable (SocketAddress) -> Void = { _ in }) {
        self.database = database
        let operations = Operations(database: database)
        server = HTTPServer(
            configuration: configuration, operations: operations,
            feeds: FeedService(store: operations.rules, signer: Self.signer),
            recorder: CheckInRecorder(store: operations.checkIns), metrics: ServerMetrics(),
            logger: Logger(label: "in-process-test"), onBound: onBound
        )
    }

    /// Runs the server until `body` returns, with the address it bound; then stops it.
    static func serving<T: Sendable>(
        database: OCSDatabase, configuration: HTTPServer.Configuration, _ body: @Sendable (SocketAddress) async throws -> T
    ) async throws -> T {
        try await serving(database: database, configuration: configuration) { _, address in try await body(address) }
    }

    /// Runs the server until `body` returns, with the server and the address it bound; then stops it.
    static func serving<T: Sendable>(
        database: OCSDatabase, configuration: HTTPServer.Configuration, _ body: @Sendable (InProcessServer, SocketAddress) async throws -> T
    ) async throws -> T {
        let (bound, continuation) = AsyncStream.makeStream(of: SocketAddress.self)
        let instance = InProcessServer(database: database, configuration: configuration) { continuation.yield($0) }
        let running = Task { try await instance.server.run() }
        defer { running.cancel() }
        var addresses = bound.makeAsyncIterator()
        guard let address = await addresses.next() else { throw CancellationError() }
        let result = try await body(instance, address)
        running.cancel()
        try await running.value
        return result
    }
}
