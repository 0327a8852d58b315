import Foundation

/// A JSON document read once, with JSON's types kept apart: `null`, booleans, numbers and text
/// never pass for one another (Foundation's `JSONSerialization` on Linux lets `1` pass for `true`).
/// Request bodies are parsed into this and read from it; no one parses the bytes again.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Deeper documents are refused before a recursive decoder walks them: no body here needs more.
    public static let maximumDepth = 16

    /// Why bytes are not a JSON value this reads.
    public enum Refusal: Error, Sendable, Equatable {
        /// Not JSON at all (or not UTF-8).
        case malformed
        /// Arrays and objects nest deeper than `maximumDepth`.
        case tooDeep(depth: Int)
    }

    /// The value of `bytes`, refused when malformed or nested deeper than `maximumDepth`.
    public static func parse(_ bytes: some Collection<UInt8>, maximumDepth: Int = maximumDepth) throws(Refusal) -> JSONValue {
        let depth = depth(of: bytes)
        guard depth <= maximumDepth else { throw .tooDeep(depth: depth) }
        do {
            return try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            throw .malformed
        }
    }

    /// How deeply arrays and objects nest, counted without parsing.
    static func depth(of bytes: some Collection<UInt8>) -> Int {
        var depth = 0, deepest = 0
        var inString = false, escaped = false
        for byte in bytes {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                deepest = max(deepest, depth)
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return deepest
    }

    public var string: String? {
        if case .string(let value) = self { value } else { nil }
    }

    public var bool: Bool? {
        if case .bool(let value) = self { value } else { nil }
    }

    /// A number that is a whole `Int`; nil for fractions, text and the rest.
    public var integer: Int? {
        guard case .number(let value) = self, value.rounded() == value, let whole = Int(exactly: value) else { return nil }
        return whole
    }

    public var array: [JSONValue]? {
        if case .array(let value) = self { value } else { nil }
    }

    public var object: [String: JSONValue]? {
        if case .object(let value) = self { value } else { nil }
    }

    /// Every element as text, nil when this is not a list of strings.
    public var strings: [String]? {
        guard let array else { return nil }
        var strings: [String] = []
        for element in array {
            guard let text = element.string else { return nil }
            strings.append(text)
        }
        return strings
    }
}

extension JSONValue: Decodable {
    private struct Key: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        if let object = try? decoder.container(keyedBy: Key.self) {
            var fields: [String: JSONValue] = [:]
            for key in object.allKeys { fields[key.stringValue] = try object.decode(JSONValue.self, forKey: key) }
            self = .object(fields)
        } else if var array = try? decoder.unkeyedContainer() {
            var items: [JSONValue] = []
            while !array.isAtEnd { items.append(try array.decode(JSONValue.self)) }
            self = .array(items)
        } else {
            let value = try decoder.singleValueContainer()
            if value.decodeNil() {
                self = .null
            } else if let bool = try? value.decode(Bool.self) {
                self = .bool(bool)
            } else if let text = try? value.decode(String.self) {
                self = .string(text)
            } else {
                self = .number(try value.decode(Double.self))
            }
        }
    }
}
