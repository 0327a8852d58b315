import GRDB
import GRDBSQLite

/// A cached GRDB statement bound, stepped and read through SQLite's C API, for the statements
/// every check-in runs. Through `StatementArguments` and `Row`, GRDB's own work on them cost the
/// check-in writer more CPU than SQLite's (a profile under load: about 28 µs against 17 µs per
/// check-in), most of it boxing values, copying each fetched row with a dictionary of its column
/// names, and generic metadata lookups.
///
/// Used only inside the transaction of the `Database` it came from, on its queue. Every run
/// ends with the statement reset, so GRDB finds it as it left it. No transaction observer is
/// registered on ocs's databases, so stepping past GRDB's observation hooks loses nothing.
struct RawStatement {
    private let statement: Statement
    private let database: Database

    init(_ database: Database, sql: String) throws {
        self.database = database
        statement = try database.cachedStatement(sql: sql)
    }

    /// Runs the statement with the parameter values `bind` appends, in order; returns what `read`
    /// makes of its first row, nil when it has none.
    func run<Value>(binding bind: (inout Parameters) throws -> Void, reading read: (Columns) -> Value) throws -> Value? {
        let handle = statement.sqliteStatement
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        var parameters = Parameters(handle: handle)
        try bind(&parameters)
        if let code = parameters.failure { throw error(code) }
        // A parameter left out would run as NULL (the bindings are cleared after every run).
        guard parameters.count == sqlite3_bind_parameter_count(handle) else {
            throw DatabaseError(
                resultCode: .SQLITE_MISUSE, message: "\(parameters.count) values for \(sqlite3_bind_parameter_count(handle)) parameters", sql: statement.sql
            )
        }
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return read(Columns(handle: handle))
        case SQLITE_DONE: return nil
        case let code: throw error(code)
        }
    }

    /// Runs a statement that returns no rows.
    func run(binding bind: (inout Parameters) throws -> Void) throws {
        _ = try run(binding: bind, reading: { _ in () })
    }

    private func error(_ code: CInt) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: database.lastErrorMessage, sql: statement.sql)
    }

    /// The values of a statement's parameters, appended in order (SQLite numbers them from 1).
    /// Text is copied by SQLite (`SQLITE_TRANSIENT`), so no Swift string need outlive the call.
    struct Parameters {
        fileprivate let handle: SQLiteStatement
        private var index: CInt = 0
        /// How many values were appended.
        fileprivate var count: CInt { index }
        /// The first binding SQLite refused; reported before the statement runs.
        fileprivate var failure: CInt?

        fileprivate init(handle: SQLiteStatement) {
            self.handle = handle
        }

        mutating func append(_ text: String?) {
            index += 1
            guard var text else { return check(sqlite3_bind_null(handle, index)) }
            // An empty buffer may have no address, and SQLite binds a null pointer as NULL, not "".
            guard !text.isEmpty else { return check(sqlite3_bind_text(handle, index, "", 0, Self.transient)) }
            let code = text.withUTF8 { bytes in
                bytes.withMemoryRebound(to: CChar.self) { characters in
                    sqlite3_bind_text(handle, index, characters.baseAddress, CInt(characters.count), Self.transient)
                }
            }
            check(code)
        }

        mutating func append(_ flag: Bool?) {
            index += 1
            guard let flag else { return check(sqlite3_bind_null(handle, index)) }
            check(sqlite3_bind_int64(handle, index, flag ? 1 : 0))
        }

        mutating func append(_ integer: Int64) {
            index += 1
            check(sqlite3_bind_int64(handle, index, integer))
        }

        private mutating func check(_ code: CInt) {
            if code != SQLITE_OK, failure == nil { failure = code }
        }

        /// SQLite's `SQLITE_TRANSIENT`: copy the bytes before the call returns.
        private static var transient: sqlite3_destructor_type { unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self) }
    }

    /// The columns of the row a statement is on, by position from 0.
    struct Columns {
        fileprivate let handle: SQLiteStatement

        func text(_ column: CInt) -> String? {
            guard sqlite3_column_type(handle, column) != SQLITE_NULL, let bytes = sqlite3_column_text(handle, column) else { return nil }
            let count = Int(sqlite3_column_bytes(handle, column))
            return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
        }

        func integer(_ column: CInt) -> Int64 {
            sqlite3_column_int64(handle, column)
        }

        func flag(_ column: CInt) -> Bool? {
            sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, column) != 0
        }
    }
}
