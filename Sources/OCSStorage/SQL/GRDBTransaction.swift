import Foundation
import GRDB

/// A GRDB transaction as an `SQLTransaction`: SQLite's side of the stores' one SQL.
struct GRDBTransaction: SQLTransaction {
    let db: Database

    var engine: SQLEngine { .sqlite }

    func execute(_ sql: String, _ arguments: SQLArguments) throws -> Int {
        try db.execute(sql: sql, arguments: Self.arguments(arguments))
        return db.changesCount
    }

    /// From the connection's statement cache: the stores' texts are constants (values are always
    /// arguments), so the cache stays small, and a query parses once per connection instead of on
    /// every call (measured: parsing was most of a new host's `host_count` read).
    func rows(_ sql: String, _ arguments: SQLArguments) throws -> [SQLRow] {
        let cursor = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: Self.arguments(arguments))
        var columns: SQLRow.Columns?
        var rows: [SQLRow] = []
        while let row = try cursor.next() {
            let shared = columns ?? SQLRow.Columns(Array(row.columnNames))
            columns = shared
            rows.append(SQLRow(columns: shared, values: row.databaseValues.map(Self.value)))
        }
        return rows
    }

    func inSavepoint(_ body: () throws -> SavepointEnd) throws {
        try db.inSavepoint {
            switch try body() {
            case .commit: .commit
            case .rollback: .rollback
            }
        }
    }

    static func arguments(_ arguments: SQLArguments) -> StatementArguments {
        StatementArguments(arguments.values.map { value -> DatabaseValue in
            switch value {
            case .null: .null
            case .integer(let integer): integer.databaseValue
            case .real(let real): real.databaseValue
            case .text(let text): text.databaseValue
            case .blob(let bytes): Data(bytes).databaseValue
            }
        })
    }

    static func value(_ value: DatabaseValue) -> SQLValue {
        switch value.storage {
        case .null: .null
        case .int64(let integer): .integer(integer)
        case .double(let real): .real(real)
        case .string(let text): .text(text)
        case .blob(let data): .blob(Array(data))
        }
    }
}

extension OCSDatabase: SQLDatabase {
    public var engine: SQLEngine { .sqlite }
    public var name: String { path }

    public func read<Value>(_ body: (any SQLTransaction) throws -> Value) throws -> Value {
        try writer.read { db in try body(GRDBTransaction(db: db)) }
    }

    public func write<Value>(_ body: (any SQLTransaction) throws -> Value) throws -> Value {
        try writer.write { db in try body(GRDBTransaction(db: db)) }
    }
}
