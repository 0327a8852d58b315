import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import OCSStorage
import PostgresNIO
import ServiceLifecycle

/// A PostgreSQL database as an `SQLDatabase`: transactions on connections leased from the
/// `PostgresClient` it runs for as long as it lives.
///
/// The stores are synchronous and called off event loops (a thread pool, a Dispatch queue, a
/// command's main thread), as on SQLite: each statement here waits on the calling thread for an
/// answer that arrives on a NIO event loop. The client's pool, and each lease, run as tasks on an
/// event loop (`EventLoopExecutor`), not on Swift's cooperative pool, so callers blocked on
/// cooperative threads can never starve the tasks they wait for.
///
/// Writes are serialized across every replica by a transaction-scoped advisory lock, as SQLite's
/// one writer serializes them on one machine: each write transaction reads, decides and writes on
/// what the last one committed, so the stores' checks (a name not taken, a revision still the
/// latest, approval still pending) mean the same on both engines.
public final class PostgresDatabase: SQLDatabase {
    let client: PostgresClient
    let eventLoop: any EventLoop
    let executor: EventLoopExecutor
    let logger: Logger
    public let name: String
    /// Longest wait for a connection: PostgreSQL down or saturated fails a request in bounded time.
    let leaseDeadline: TimeAmount
    /// Longest a statement may run before its connection is closed.
    let statementDeadline: TimeAmount
    private let running: Task<Void, Never>
    let prepared = PreparedStatements()

    /// The `pg_advisory_xact_lock` key every write takes ('ocs' 'w').
    static let writerLock: Int64 = 0x6F63_7377

    /// Starts a client on `location` and brings the database to this binary's schema (see
    /// `PostgresMigrator`). Blocks until migrated: call off event loops.
    public convenience init(
        _ location: PostgresLocation, password: String?, logger: Logger, options: PostgresDatabaseOptions = PostgresDatabaseOptions(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws(PostgresMigrationError) {
        var configuration = PostgresClient.Configuration(location, password: password)
        configuration.options.maximumConnections = options.maximumConnections
        configuration.options.connectTimeout = .seconds(Int64(options.leaseDeadline.nanoseconds / 1_000_000_000))
        // Every commit on disk before it is acknowledged, whatever the server's default.
        configuration.options.additionalStartupParameters = [("synchronous_commit", "on")]
        let client = PostgresClient(configuration: configuration, eventLoopGroup: eventLoopGroup, backgroundLogger: logger)
        self.init(client: client, name: location.description, eventLoop: eventLoopGroup.next(), logger: logger, options: options)
        // A server that cannot be reached is reported within the lease deadline; the client's
        // own connection attempts would go on for a minute.
        do {
            _ = try read { try $0.value(Int.self, "SELECT 1") }
        } catch {
            throw .database(reason: "\(error)")
        }
        let migrated = eventLoop.makePromise(of: Void.self)
        Task(executorPreference: executor) { [client, logger] in
            do {
                try await PostgresMigrator(logger: logger).migrate(client)
                migrated.succeed()
            } catch {
                migrated.fail(error)
            }
        }
        do {
            try migrated.futureResult.wait()
        } catch let error as PostgresMigrationError {
            throw error
        } catch {
            throw .database(reason: PostgresErrorText.describe(error))
        }
    }

    /// Runs `client` (which nobody else runs) until this database is gone.
    init(client: PostgresClient, name: String, eventLoop: any EventLoop, logger: Logger, options: PostgresDatabaseOptions) {
        self.client = client
        self.name = name
        self.eventLoop = eventLoop
        executor = EventLoopExecutor(eventLoop)
        self.logger = logger
        leaseDeadline = options.leaseDeadline
        statementDeadline = options.statementDeadline
        running = Task(executorPreference: executor) { await client.run() }
    }

    deinit {
        // Ends the client's run: its connections close.
        running.cancel()
    }

    public var engine: SQLEngine { .postgres }

    public func durabilityProblem(minimumFreeBytes: UInt64) -> String? { nil }

    public func read<Value>(_ body: (any SQLTransaction) throws -> Value) throws -> Value {
        try transaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", lock: false, body)
    }

    public func write<Value>(_ body: (any SQLTransaction) throws -> Value) throws -> Value {
        try transaction(begin: "BEGIN", lock: true, body)
    }

    private func transaction<Value>(begin: String, lock: Bool, _ body: (any SQLTransaction) throws -> Value) throws -> Value {
        // Waiting here on an event loop could wait for that very loop: refuse (the request fails)
        // rather than hang or crash the server.
        guard MultiThreadedEventLoopGroup.currentEventLoop == nil else {
            throw SQLError.engine("a PostgreSQL transaction was started on an event loop; stores are called off event loops")
        }
        let lease = try Lease(client: client, executor: executor, eventLoop: eventLoop, deadline: leaseDeadline)
        defer { lease.release() }
        let transaction = PostgresTransaction(connection: lease.connection, logger: logger, statementDeadline: statementDeadline, prepared: prepared)
        try transaction.run(begin, [])
        do {
            if lock {
                try transaction.run("SELECT pg_advisory_xact_lock(\(Self.writerLock))", [])
            }
            let value = try body(transaction)
            try transaction.run("COMMIT", [])
            return value
        } catch {
            // A failed ROLLBACK means the connection is gone: the server rolls back on its own.
            _ = try? transaction.run("ROLLBACK", [])
            throw error
        }
    }
}

extension PostgresDatabase: SerialAnnouncing {
    /// The channel migration 0021's trigger notifies on each move of the serial.
    static let serialChannel = "ocs_serial"

    /// Listens on a connection of the client's pool held for as long as it listens (one of
    /// `maximumConnections`), on this database's event loop. A lost connection is logged once and
    /// made again after `listenRetryDelay`; each new one announces at once, so a change made while no
    /// connection listened is read then.
    public func listenForSerialChanges(_ announced: @escaping @Sendable () -> Void) -> Task<Void, Never> {
        Task(executorPreference: executor) { [client, logger] in
            var failing = false
            while !Task.isCancelled {
                do {
                    try await client.withConnection { connection in
                        try await connection.listen(on: Self.serialChannel) { notifications in
                            if failing {
                                failing = false
                                logger.notice("listening for changes of the rule-set serial again")
                            }
                            announced()
                            for try await _ in notifications {
                                announced()
                            }
                        }
                    }
                } catch {
                    if !failing, !Task.isCancelled {
                        failing = true
                        logger.error(
                            "listening for changes of the rule-set serial failed; the serial is read on a slower timer until it works again",
                            metadata: ["error": "\(PostgresTransaction.describe(error))"]
                        )
                    }
                }
                try? await Task.sleep(for: Self.listenRetryDelay)
            }
        }
    }

    /// Wait before listening again after the listening connection was lost.
    static let listenRetryDelay: Duration = .seconds(1)
}

/// As a service in `ocs serve`'s group: the client runs from the start (stores are used before the
/// group starts), and ends, its connections closed, once the group shuts down gracefully.
extension PostgresDatabase: Service {
    public func run() async throws {
        try? await gracefulShutdown()
        running.cancel()
        await running.value
    }
}

/// How a `PostgresDatabase` bounds its work.
public struct PostgresDatabaseOptions: Sendable {
    /// Connections the client may open.
    public var maximumConnections = 20
    /// Longest wait for a connection (and for one to be made): PostgreSQL down or saturated
    /// fails a request in bounded time.
    public var leaseDeadline: TimeAmount = .seconds(5)
    /// Longest a statement may run before its connection is closed.
    public var statementDeadline: TimeAmount = .seconds(30)

    public init() {}
}

/// A connection taken from the client's pool until `release`, awaited by a task on an event loop.
private struct Lease {
    let connection: PostgresConnection
    private let done: EventLoopPromise<Void>

    init(client: PostgresClient, executor: EventLoopExecutor, eventLoop: any EventLoop, deadline: TimeAmount) throws {
        let leased = eventLoop.makePromise(of: PostgresConnection.self)
        let done = eventLoop.makePromise(of: Void.self)
        // Set once the caller stopped waiting: a connection leased after that goes straight back.
        let abandoned = NIOLockedValueBox(false)
        Task(executorPreference: executor) {
            do {
                try await client.withConnection { connection in
                    guard !abandoned.withLockedValue({ $0 }) else { return }
                    leased.succeed(connection)
                    try await done.futureResult.get()
                }
            } catch {
                leased.fail(error)
            }
        }
        let timeout = eventLoop.scheduleTask(in: deadline) {
            leased.fail(SQLError.engine("PostgreSQL gave no connection within \(deadline.nanoseconds / 1_000_000_000) s"))
        }
        defer { timeout.cancel() }
        do {
            connection = try leased.futureResult.wait()
        } catch {
            abandoned.withLockedValue { $0 = true }
            done.succeed()
            throw SQLError.engine(PostgresTransaction.describe(error))
        }
        self.done = done
    }

    func release() {
        done.succeed()
    }
}

/// Runs a task's jobs on one NIO event loop instead of Swift's cooperative pool.
final class EventLoopExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { [self] in
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
