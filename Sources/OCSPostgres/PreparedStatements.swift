import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// The statements each connection has prepared, by connection and text: a check-in's statements
/// (`PostgresCheckInStatements`) are parsed and planned once per connection, on first use, then
/// run by name. A connection's entries go when it closes.
final class PreparedStatements: Sendable {
    private let byConnection = Mutex<[PostgresConnection.ID: [String: PreparedQuery]]>([:])

    /// How many statements the open connections hold prepared.
    var count: Int {
        byConnection.withLock { $0.values.reduce(0) { $0 + $1.count } }
    }

    /// `sql` (numbered parameters) prepared on `connection`; call on its event loop.
    func statement(_ sql: String, on connection: PostgresConnection, logger: Logger) -> EventLoopFuture<PreparedQuery> {
        let id = connection.id
        let (known, newConnection) = byConnection.withLock { statements -> (PreparedQuery?, Bool) in
            guard let prepared = statements[id] else {
                statements[id] = [:]
                return (nil, true)
            }
            return (prepared[sql], false)
        }
        if newConnection {
            connection.closeFuture.whenComplete { [self] _ in
                _ = byConnection.withLock { $0.removeValue(forKey: id) }
            }
        }
        if let known {
            return connection.eventLoop.makeSucceededFuture(known)
        }
        return connection.prepare(query: sql).map { [self] prepared in
            byConnection.withLock { $0[id]?[sql] = prepared }
            return prepared
        }
    }
}
