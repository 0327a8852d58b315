/// Which engine runs the SQL: the stores write one statement for both and name the few places
/// where the dialects differ through `SQLEngine`'s fragments.
public enum SQLEngine: String, Sendable {
    case sqlite
    case postgres

    /// The elements of a JSON array of strings held as text in `expression`, as a table with one
    /// column, `value`: SQLite's `json_each`, PostgreSQL's `jsonb_array_elements_text`.
    public func jsonArrayElements(_ expression: String) -> String {
        switch self {
        case .sqlite: "json_each(\(expression))"
        case .postgres: "jsonb_array_elements_text((\(expression))::jsonb) AS json_elements(value)"
        }
    }

    /// `table` read through `index`: SQLite's `INDEXED BY`, where the query's speed rests on that
    /// index; PostgreSQL takes no hints and its planner chooses.
    public func table(_ table: String, indexedBy index: String) -> String {
        switch self {
        case .sqlite: "\(table) INDEXED BY \(index)"
        case .postgres: table
        }
    }

    /// The greater of two values: SQLite's two-argument `max`, PostgreSQL's `GREATEST`.
    public func greatest(_ first: String, _ second: String) -> String {
        switch self {
        case .sqlite: "max(\(first), \(second))"
        case .postgres: "GREATEST(\(first), \(second))"
        }
    }

    /// The 1-based position of `needle` in `haystack`, 0 when absent.
    public func position(of needle: String, in haystack: String) -> String {
        switch self {
        case .sqlite: "instr(\(haystack), \(needle))"
        case .postgres: "strpos(\(haystack), \(needle))"
        }
    }
}

/// Whether a savepoint's work stays.
public enum SavepointEnd: Sendable {
    case commit
    case rollback
}

/// A transaction in progress on either engine, valid only inside the closure it was given to.
/// Statements use `?` for their parameters, in order, on both engines.
public protocol SQLTransaction {
    var engine: SQLEngine { get }
    /// Runs a statement; returns how many rows it inserted, changed or deleted.
    @discardableResult
    func execute(_ sql: String, _ arguments: SQLArguments) throws -> Int
    /// Runs a query; returns every row it produced.
    func rows(_ sql: String, _ arguments: SQLArguments) throws -> [SQLRow]
    /// Runs `body` in a savepoint, undone when it returns `.rollback` or throws.
    func inSavepoint(_ body: () throws -> SavepointEnd) throws
}

extension SQLTransaction {
    @discardableResult
    public func execute(_ sql: String) throws -> Int {
        try execute(sql, [])
    }

    public func rows(_ sql: String) throws -> [SQLRow] {
        try rows(sql, [])
    }

    /// The first row, if any.
    public func row(_ sql: String, _ arguments: SQLArguments = []) throws -> SQLRow? {
        try rows(sql, arguments).first
    }

    /// The first column of the first row; nil when there is no row or it is NULL.
    public func value<Value: SQLValueConvertible>(_ type: Value.Type, _ sql: String, _ arguments: SQLArguments = []) throws -> Value? {
        try row(sql, arguments)?.first(type)
    }

    /// Runs an `INSERT ... RETURNING id` (both engines) and returns the new row's id.
    public func insert(_ sql: String, _ arguments: SQLArguments) throws -> Int64 {
        guard let id = try value(Int64.self, sql, arguments) else {
            throw SQLError.unexpectedValue(column: "id", value: .null, expected: "the new row's id")
        }
        return id
    }

    /// The first column of every row, NULLs left out.
    public func values<Value: SQLValueConvertible>(_ type: Value.Type, _ sql: String, _ arguments: SQLArguments = []) throws -> [Value] {
        try rows(sql, arguments).compactMap { row throws(SQLError) in try row.first(type) }
    }
}

/// A database the stores run transactions on: SQLite through GRDB, or PostgreSQL.
/// Blocking: call off event loops.
public protocol SQLDatabase: Sendable {
    var engine: SQLEngine { get }
    /// Where the database is, for logs and messages: a file's path, or a PostgreSQL location
    /// without its password.
    var name: String { get }
    /// Why a commit now might not be there after a restart, or nil (see `OCSDatabase`'s; a
    /// PostgreSQL server keeps its own durability, and its reachability shows in every statement).
    func durabilityProblem(minimumFreeBytes: UInt64) -> String?
    /// Runs `body` in a read-only transaction: one consistent snapshot.
    func read<Value>(_ body: (any SQLTransaction) throws -> Value) throws -> Value
    /// Runs `body` in a write transaction, committed when it returns, rolled back when it throws.
    func write<Value>(_ body: (any SQLTransaction) throws -> Value) throws -> Value
}

/// A database that announces each commit that moved the rule-set serial (PostgreSQL's
/// `NOTIFY`), so servers sharing it hear of a publish as it commits instead of reading the serial
/// over and over. SQLite has no such channel: its servers read the serial on a short timer.
public protocol SerialAnnouncing: SQLDatabase {
    /// Starts listening: `announced` is called after each commit that moved the serial, and each
    /// time the listener (re)connects, since a change may have passed unheard while it was down.
    /// Listens, reconnecting as needed, until the returned task is cancelled.
    func listenForSerialChanges(_ announced: @escaping @Sendable () -> Void) -> Task<Void, Never>
}

/// A statement the engine refused, or a row that does not hold what the store reads from it.
public enum SQLError: Error, Sendable, Equatable, CustomStringConvertible {
    case noSuchColumn(String)
    case unexpectedValue(column: String, value: SQLValue, expected: String)
    /// The engine's own message.
    case engine(String)
    /// The connection to the database server was lost during a statement: whether the
    /// transaction committed is unknown (a server restart, a network failure).
    case connectionLost(String)

    public var description: String {
        switch self {
        case .noSuchColumn(let column): "the result has no column \(column)"
        case .unexpectedValue(let column, let value, let expected):
            "column \(column) holds \(Self.kind(of: value)), not \(expected)"
        case .engine(let message): message
        case .connectionLost(let message): message
        }
    }

    private static func kind(of value: SQLValue) -> String {
        switch value {
        case .null: "NULL"
        case .integer: "an integer"
        case .real: "a real number"
        case .text: "text"
        case .blob: "a blob"
        }
    }
}
