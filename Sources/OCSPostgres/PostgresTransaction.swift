import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import OCSStorage
import PostgresNIO

/// A PostgreSQL transaction as an `SQLTransaction`: the stores' one SQL, `?` parameters
/// numbered for PostgreSQL, each statement waited for on the calling thread (never an event
/// loop), every value read back as SQLite would hand it over.
final class PostgresTransaction: SQLTransaction {
    let connection: PostgresConnection
    let logger: Logger
    /// Longest a statement may take before its connection is closed (and the statement fails).
    let statementDeadline: TimeAmount
    private var savepoints = 0

    /// Statements this connection has prepared (the check-in's, `PostgresCheckInStatements`).
    let prepared: PreparedStatements

    init(connection: PostgresConnection, logger: Logger, statementDeadline: TimeAmount, prepared: PreparedStatements) {
        self.connection = connection
        self.prepared = prepared
        self.logger = logger
        self.statementDeadline = statementDeadline
    }

    var engine: SQLEngine { .postgres }

    func execute(_ sql: String, _ arguments: SQLArguments) throws -> Int {
        try run(sql, arguments).changed
    }

    func rows(_ sql: String, _ arguments: SQLArguments) throws -> [SQLRow] {
        let result = try run(sql, arguments)
        var columns: SQLRow.Columns?
        var rows: [SQLRow] = []
        rows.reserveCapacity(result.rows.count)
        for row in result.rows {
            var values: [SQLValue] = []
            var names: [String] = []
            for var cell in row {
                if columns == nil { names.append(cell.columnName) }
                if result.binaryCells { cell.format = .binary }
                values.append(try Self.value(cell))
            }
            let shared = columns ?? SQLRow.Columns(names)
            columns = shared
            rows.append(SQLRow(columns: shared, values: values))
        }
        return rows
    }

    func inSavepoint(_ body: () throws -> SavepointEnd) throws {
        savepoints += 1
        let name = "ocs_savepoint_\(savepoints)"
        defer { savepoints -= 1 }
        try run("SAVEPOINT \(name)", [])
        let end: SavepointEnd
        do {
            end = try body()
        } catch {
            try run("ROLLBACK TO SAVEPOINT \(name)", [])
            throw error
        }
        switch end {
        case .commit: try run("RELEASE SAVEPOINT \(name)", [])
        case .rollback: try run("ROLLBACK TO SAVEPOINT \(name)", [])
        }
    }

    /// Runs one statement, a check-in's prepared (`PostgresCheckInStatements`), and waits for its
    /// answer, at most `statementDeadline` (see `wait`).
    @discardableResult
    func run(_ sql: String, _ arguments: SQLArguments) throws -> Answer {
        let connection = connection
        if PostgresCheckInStatements.texts.contains(sql) {
            let binds = arguments.values.map(Self.data)
            return try wait(for: "the prepared statement") { [prepared, logger] in
                prepared.statement(Self.numberingParameters(sql), on: connection, logger: logger)
                    .flatMap { $0.execute(binds) }
                    .map { Answer(rows: $0, changed: $0.count, binaryCells: true) }
            }
        }
        var binds = PostgresBindings(capacity: arguments.values.count)
        for value in arguments.values {
            switch value {
            case .null: binds.appendNull()
            case .integer(let integer): binds.append(integer)
            case .real(let real): binds.append(real)
            case .text(let text): binds.append(text)
            case .blob(let bytes): binds.append(ByteBuffer(bytes: bytes))
            }
        }
        let query = PostgresQuery(unsafeSQL: Self.numberingParameters(sql), binds: binds)
        return try wait(for: "the statement") { [logger] in
            connection.query(query, logger: logger).map { Answer(rows: $0.rows, changed: $0.metadata.rows ?? 0, binaryCells: false) }
        }
    }

    /// What a statement answered: its rows, and how many rows it changed (for a prepared
    /// statement, how many it returned).
    struct Answer {
        let rows: [PostgresRow]
        let changed: Int
        /// postgres-nio's `PreparedQuery` asks for binary values but keeps the text format of the
        /// statement's description in each cell (its newer prepared statements correct it; these
        /// do not): the cells of a prepared statement are read as the binary they are.
        let binaryCells: Bool
    }

    /// Starts `send` on the connection's event loop and waits for its answer, at most
    /// `statementDeadline`, after which the connection is closed.
    ///
    /// postgres-nio writes requests to its channel without a write promise, so one sent to a
    /// connection that is already closed (PostgreSQL restarted) is never answered nor failed:
    /// that held the check-in writer for good. On the connection's event loop the channel cannot
    /// close between the check and the write; the deadline bounds the rest.
    private func wait(for what: String, _ send: @escaping @Sendable () -> EventLoopFuture<Answer>) throws -> Answer {
        let connection = connection
        let answer = connection.eventLoop.makePromise(of: Answer.self)
        connection.eventLoop.execute {
            guard !connection.isClosed else {
                answer.fail(SQLError.connectionLost("the connection to PostgreSQL is closed"))
                return
            }
            send().cascade(to: answer)
        }
        let seconds = statementDeadline.nanoseconds / 1_000_000_000
        let deadline = connection.eventLoop.scheduleTask(in: statementDeadline) {
            answer.fail(SQLError.connectionLost("PostgreSQL did not answer \(what) within \(seconds) s; the connection was closed"))
            connection.close().whenComplete { _ in }
        }
        defer { deadline.cancel() }
        do {
            return try answer.futureResult.wait()
        } catch let error as SQLError {
            throw error
        } catch {
            throw Self.lostConnection(error) ? SQLError.connectionLost(Self.describe(error)) : SQLError.engine(Self.describe(error))
        }
    }

    /// A value as the legacy prepared-statement API binds it.
    private static func data(_ value: SQLValue) -> PostgresData {
        switch value {
        case .null: .null
        case .integer(let integer): PostgresData(int64: integer)
        case .real(let real): PostgresData(double: real)
        case .text(let text): PostgresData(string: text)
        case .blob(let bytes): PostgresData(bytes: bytes)
        }
    }

    /// Whether `error` ended the connection rather than refused the statement: the connection
    /// closed or failed, or the server is shutting down or lost it (SQLSTATE classes 08 and 57P).
    static func lostConnection(_ error: any Error) -> Bool {
        guard let failure = error as? PSQLError else { return false }
        if let state = failure.serverInfo?[.sqlState] {
            return state.hasPrefix("08") || state.hasPrefix("57P")
        }
        return [.serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown].contains(failure.code)
    }

    /// `sql` with each `?` outside quotes and comments replaced by `$1`, `$2`, ... in order.
    static func numberingParameters(_ sql: String) -> String {
        guard sql.utf8.contains(UInt8(ascii: "?")) else { return sql }
        var output: [UInt8] = []
        output.reserveCapacity(sql.utf8.count + 16)
        var number = 0
        var quote: UInt8? = nil
        var lineComment = false
        var previous: UInt8 = 0
        for byte in sql.utf8 {
            if lineComment {
                if byte == UInt8(ascii: "\n") { lineComment = false }
            } else if let open = quote {
                if byte == open { quote = nil }
            } else if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\"") {
                quote = byte
            } else if byte == UInt8(ascii: "-") && previous == UInt8(ascii: "-") {
                lineComment = true
            } else if byte == UInt8(ascii: "?") {
                number += 1
                output.append(UInt8(ascii: "$"))
                output.append(contentsOf: String(number).utf8)
                previous = byte
                continue
            }
            output.append(byte)
            previous = byte
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// A cell as SQLite would return it: integers (booleans as 0 or 1), reals, text, blobs, NULL.
    static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        do {
            switch cell.dataType {
            case .int2, .int4, .int8, .oid:
                return .integer(try cell.decode(Int64.self))
            case .bool:
                return .integer(try cell.decode(Bool.self) ? 1 : 0)
            case .float4, .float8:
                return .real(try cell.decode(Double.self))
            case .numeric:
                // sum() and avg() of integers: whole counts as integers, as SQLite gives them.
                let decimal = try cell.decode(Decimal.self)
                let integer = NSDecimalNumber(decimal: decimal).int64Value
                return Decimal(integer) == decimal ? .integer(integer) : .real(NSDecimalNumber(decimal: decimal).doubleValue)
            case .bytea:
                var buffer = try cell.decode(ByteBuffer.self)
                return .blob(buffer.readBytes(length: buffer.readableBytes) ?? [])
            default:
                return .text(try cell.decode(String.self))
            }
        } catch {
            throw SQLError.engine("column \(cell.columnName) of type \(cell.dataType) cannot be read: \(describe(error))")
        }
    }

    /// PostgreSQL's own message and SQLSTATE, or what failed on the way: never the statement's
    /// parameter values (a token's hash, a host's name), which a `PSQLError` may carry.
    static func describe(_ error: any Error) -> String {
        if let error = error as? SQLError { return error.description }
        guard let failure = error as? PSQLError else { return "\(error)" }
        if let message = failure.serverInfo?[.message] {
            let state = failure.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
            let detail = failure.serverInfo?[.detail].map { ": \($0)" } ?? ""
            return "PostgreSQL: \(message)\(detail)\(state)"
        }
        return "PostgreSQL connection: \(failure.code)"
    }
}
