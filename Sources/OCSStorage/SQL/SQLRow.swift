/// One row of a result, its columns found by name.
public struct SQLRow: Sendable {
    /// The result's column names, shared by all its rows.
    public final class Columns: Sendable {
        public let names: [String]
        let indexes: [String: Int]

        public init(_ names: [String]) {
            self.names = names
            var indexes: [String: Int] = [:]
            // The first of two columns with one name wins, as in SQLite's own lookup.
            for (index, name) in names.enumerated() where indexes[name] == nil {
                indexes[name] = index
            }
            self.indexes = indexes
        }
    }

    public let columns: Columns
    public let values: [SQLValue]

    public init(columns: Columns, values: [SQLValue]) {
        self.columns = columns
        self.values = values
    }

    /// The raw value of `column`; a column the query did not select is a programming error,
    /// reported as a thrown error rather than a crash.
    public func value(_ column: String) throws(SQLError) -> SQLValue {
        guard let index = columns.indexes[column] else { throw .noSuchColumn(column) }
        return values[index]
    }

    /// The value of `column`, which must not be NULL.
    public subscript<Value: SQLValueConvertible>(_ column: String) -> Value {
        get throws(SQLError) {
            let value = try value(column)
            guard let converted = Value(sqlValue: value) else { throw .unexpectedValue(column: column, value: value, expected: "\(Value.self)") }
            return converted
        }
    }

    /// The value of `column`, nil when NULL.
    public subscript<Value: SQLValueConvertible>(_ column: String) -> Value? {
        get throws(SQLError) {
            let value = try value(column)
            if value == .null { return nil }
            guard let converted = Value(sqlValue: value) else { throw .unexpectedValue(column: column, value: value, expected: "\(Value.self)") }
            return converted
        }
    }

    /// The first column's value, nil when NULL.
    public func first<Value: SQLValueConvertible>(_ type: Value.Type) throws(SQLError) -> Value? {
        guard let value = values.first else { throw .noSuchColumn("#1") }
        if value == .null { return nil }
        guard let converted = Value(sqlValue: value) else { throw .unexpectedValue(column: columns.names.first ?? "#1", value: value, expected: "\(Value.self)") }
        return converted
    }
}

/// A stored value read from one row. Each type the stores read has one conformance, so its
/// columns are named in one place, whichever query selects them.
public protocol SQLRowDecodable {
    init(row: SQLRow) throws
}

extension SQLTransaction {
    /// Every row of `sql`, each read as a `Record`.
    public func records<Record: SQLRowDecodable>(_ type: Record.Type, _ sql: String, _ arguments: SQLArguments = []) throws -> [Record] {
        try rows(sql, arguments).map(Record.init(row:))
    }

    /// The first row of `sql` as a `Record`, if any.
    public func record<Record: SQLRowDecodable>(_ type: Record.Type, _ sql: String, _ arguments: SQLArguments = []) throws -> Record? {
        try row(sql, arguments).map(Record.init(row:))
    }
}
