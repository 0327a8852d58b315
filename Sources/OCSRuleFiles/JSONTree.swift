import Foundation

/// A JSON document as a `RuleNode` tree, keeping JSON's types: `null`, numbers and booleans stay
/// what they are, so they never pass for text.
enum JSONTree {
    /// The tree, or nil when `bytes` is not JSON (surrogate-pair escapes such as `"\ud83d\udca9"` are JSON).
    static func parse(_ bytes: [UInt8]) -> RuleNode? {
        try? JSONDecoder().decode(Decoded.self, from: Data(bytes)).node
    }

    /// How deeply arrays and objects nest, counted without parsing, so a deep document is refused
    /// before a recursive decoder walks it.
    static func depth(of bytes: [UInt8]) -> Int {
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

    /// One JSON value read through `Decodable`, which tells null, booleans, numbers and text apart.
    private struct Decoded: Decodable {
        let node: RuleNode

        struct Key: CodingKey {
            let stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            if let object = try? decoder.container(keyedBy: Key.self) {
                let entries = try object.allKeys.sorted { $0.stringValue < $1.stringValue }.map { key in
                    RuleNode.Entry(name: key.stringValue, line: nil, value: try object.decode(Decoded.self, forKey: key).node)
                }
                node = RuleNode(.mapping(entries), line: nil)
            } else if var array = try? decoder.unkeyedContainer() {
                var items: [RuleNode] = []
                while !array.isAtEnd { items.append(try array.decode(Decoded.self).node) }
                node = RuleNode(.sequence(items), line: nil)
            } else {
                let value = try decoder.singleValueContainer()
                if value.decodeNil() {
                    node = RuleNode(.scalar(.null), line: nil)
                } else if let bool = try? value.decode(Bool.self) {
                    node = RuleNode(.scalar(.other(kind: "boolean", source: "\(bool)")), line: nil)
                } else if let text = try? value.decode(String.self) {
                    node = RuleNode(.scalar(.text(text)), line: nil)
                } else if let integer = try? value.decode(Int.self) {
                    node = RuleNode(.scalar(.other(kind: "number", source: "\(integer)")), line: nil)
                } else {
                    node = RuleNode(.scalar(.other(kind: "number", source: "\(try value.decode(Double.self))")), line: nil)
                }
            }
        }
    }
}
