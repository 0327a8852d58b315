/// A JSON value as a `RuleNode` tree, keeping JSON's types: `null`, numbers and booleans stay
/// what they are, so they never pass for text.
enum JSONTree {
    static func node(_ value: JSONValue) -> RuleNode {
        switch value {
        case .object(let fields):
            RuleNode(.mapping(fields.sorted { $0.key < $1.key }.map { RuleNode.Entry(name: $0.key, line: nil, value: node($0.value)) }), line: nil)
        case .array(let items):
            RuleNode(.sequence(items.map(node)), line: nil)
        case .null:
            RuleNode(.scalar(.null), line: nil)
        case .bool(let bool):
            RuleNode(.scalar(.other(kind: "boolean", source: "\(bool)")), line: nil)
        case .string(let text):
            RuleNode(.scalar(.text(text)), line: nil)
        case .number(let number):
            RuleNode(.scalar(.other(kind: "number", source: value.integer.map(String.init) ?? "\(number)")), line: nil)
        }
    }
}
