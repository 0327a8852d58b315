/// A rule document as a neutral tree: what a YAML file and a JSON body both reduce to, so one
/// decoder (`RuleTreeDecoder`) judges both the same way. Lines are known for YAML only.
struct RuleNode: Sendable {
    /// What a node holds.
    enum Content: Sendable {
        case mapping([Entry])
        case sequence([RuleNode])
        case scalar(Scalar)
    }

    /// One field of a mapping. `name` is nil when the key is not a scalar (a list or mapping as key).
    struct Entry: Sendable {
        let name: String?
        let line: Int?
        let value: RuleNode

        init(name: String?, line: Int?, value: RuleNode) {
            self.name = name
            self.line = line
            self.value = value
        }
    }

    /// A scalar and the type it has in its document: only `text` may fill a text field.
    enum Scalar: Sendable {
        case text(String)
        case null
        /// A boolean, number or other non-text scalar, with its source text for messages.
        case other(kind: String, source: String)
    }

    let content: Content
    let line: Int?

    init(_ content: Content, line: Int?) {
        self.content = content
        self.line = line
    }

    /// How a problem names this node's kind: "a mapping", "a list", "null", "the number 123".
    var kindDescription: String {
        switch content {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .scalar(.text): "text"
        case .scalar(.null): "null"
        case .scalar(.other(let kind, let source)): "the \(kind) \(source.prefix(40))"
        }
    }
}

extension RuleNode {
    /// The line of a top-level field's key, when this node is a mapping that has it.
    func line(of field: String) -> Int? {
        guard case .mapping(let entries) = content else { return nil }
        return entries.first { $0.name == field }?.line
    }
}
