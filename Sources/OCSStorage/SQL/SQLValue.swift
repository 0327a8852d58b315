import Foundation

/// One value as the stores exchange it with either engine: what SQLite stores, and what the
/// PostgreSQL schema is written to hold (integers, text, blobs; dates as UTC text).
public enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// A Swift value the stores bind as a parameter or read from a column.
public protocol SQLValueConvertible: Sendable {
    var sqlValue: SQLValue { get }
    /// Nil when `value` is not one of this type (NULL included): a column read as the wrong type.
    init?(sqlValue value: SQLValue)
}

extension SQLValue: SQLValueConvertible {
    public var sqlValue: SQLValue { self }
    public init?(sqlValue value: SQLValue) { self = value }
}

extension String: SQLValueConvertible {
    public var sqlValue: SQLValue { .text(self) }
    public init?(sqlValue value: SQLValue) {
        guard case .text(let text) = value else { return nil }
        self = text
    }
}

extension Int64: SQLValueConvertible {
    public var sqlValue: SQLValue { .integer(self) }
    public init?(sqlValue value: SQLValue) {
        switch value {
        case .integer(let integer): self = integer
        // An integral REAL (SQLite's sum() or avg() of integers): a count, whole.
        case .real(let real) where real.rounded() == real && abs(real) < 9.0e18: self = Int64(real)
        default: return nil
        }
    }
}

extension Int: SQLValueConvertible {
    public var sqlValue: SQLValue { .integer(Int64(self)) }
    public init?(sqlValue value: SQLValue) {
        guard let integer = Int64(sqlValue: value) else { return nil }
        self = Int(integer)
    }
}

extension Bool: SQLValueConvertible {
    /// As SQLite holds a boolean (and the PostgreSQL schema too): 1 or 0.
    public var sqlValue: SQLValue { .integer(self ? 1 : 0) }
    public init?(sqlValue value: SQLValue) {
        guard case .integer(let integer) = value else { return nil }
        self = integer != 0
    }
}

extension Double: SQLValueConvertible {
    public var sqlValue: SQLValue { .real(self) }
    public init?(sqlValue value: SQLValue) {
        switch value {
        case .real(let real): self = real
        case .integer(let integer): self = Double(integer)
        default: return nil
        }
    }
}

extension Date: SQLValueConvertible {
    /// UTC text, `yyyy-MM-dd HH:mm:ss.SSS`, as GRDB stores dates: text compares in time order.
    public var sqlValue: SQLValue { .text(DatabaseTimestamp(self).text) }
    public init?(sqlValue value: SQLValue) {
        guard case .text(let text) = value, let date = DatabaseTimestamp.date(from: text) else { return nil }
        self = date
    }
}

extension Data: SQLValueConvertible {
    public var sqlValue: SQLValue { .blob(Array(self)) }
    public init?(sqlValue value: SQLValue) {
        guard case .blob(let bytes) = value else { return nil }
        self = Data(bytes)
    }
}

/// The parameters of one statement, in order; `nil` binds NULL.
public struct SQLArguments: Sendable, ExpressibleByArrayLiteral {
    public var values: [SQLValue]

    public init(_ values: [SQLValue]) {
        self.values = values
    }

    public init(arrayLiteral elements: (any SQLValueConvertible)?...) {
        values = elements.map { $0?.sqlValue ?? .null }
    }

    public init(_ elements: [(any SQLValueConvertible)?]) {
        values = elements.map { $0?.sqlValue ?? .null }
    }

    public static func + (lhs: SQLArguments, rhs: SQLArguments) -> SQLArguments {
        SQLArguments(lhs.values + rhs.values)
    }
}
