import OCSXML

/// A signed `Config` as an agent acts on it: its id, description and actions, read from the
/// verified tree (so only content the signature covers).
public struct SignedConfig: Sendable, Equatable {
    public let id: String
    public let description: String
    public let actions: [SignedAction]

    init(_ element: XMLTreeElement) {
        id = element.attribute("id") ?? ""
        description = element.attribute("desc") ?? ""
        actions = element.elements.filter { $0.localName == "ActionList" }
            .flatMap { $0.elements.filter { $0.localName == "Action" } }
            .map(SignedAction.init)
    }
}

/// One `Action` of a signed `Config`: `type`, `scope`, `site`, `desc`, the `Value` text and, for a
/// URL rewrite, the `Rule` element's attributes.
public struct SignedAction: Sendable, Equatable {
    public let type: String
    public let scope: String
    public let site: String?
    public let description: String
    public let value: String
    /// The `Rule` child's attributes (`name`, `input`, `pattern`, `action`), when there is one.
    public let rule: [String: String]?

    init(_ element: XMLTreeElement) {
        type = element.attribute("type") ?? ""
        scope = element.attribute("scope") ?? ""
        site = element.attribute("site")
        description = element.attribute("desc") ?? ""
        value = element.elements.first { $0.localName == "Value" }?.text ?? ""
        rule = element.elements.first { $0.localName == "Rule" }.map { rule in
            Dictionary(rule.attributes.map { ($0.localName, $0.value) }, uniquingKeysWith: { first, _ in first })
        }
    }
}
