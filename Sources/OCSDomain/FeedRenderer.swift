/// Renders the EOCS document an Exchange EM service downloads, in Canonical XML form.
///
/// The output is canonical by construction (attributes sorted, no empty-element tags, C14N
/// escaping), so the enveloped signature's digest can be taken over these very bytes.
/// Action rendering, per `type`:
/// - `DoNothing`: `<Value>DoNothing</Value>`.
/// - `IISUrlRewrite`: `scope` and (for Site) `site` attributes, `<Value>` the rule name, then
///   `<Rule action input name pattern>` carrying the rewrite rule.
/// - `DisableService`: `<Value>` the service name. `DisableAppPool`: `<Value>` the app pool name.
/// Every action has `desc` (its own description, else the rule's) and `scope` (`Server` unless a
/// URL rewrite rule is placed on a site).
public struct FeedRenderer: Sendable {
    /// The EOCS format version the real service serves.
    public static let formatVersion = "1.0.4"
    public static let declaration = #"<?xml version="1.0" encoding="utf-8"?>"#

    public init() {}

    /// The published rules that apply to `build`, ordered by id. Without a build, only the
    /// rules that apply to every build.
    public func configs(from rules: [Mitigation], for build: ExchangeBuild?, catalog: BuildCatalog) -> [Mitigation] {
        rules.filter { rule in
            guard rule.state == .published else { return false }
            guard let applies = rule.applies else { return true }
            guard let build else { return false }
            return applies.includes(build, catalog: catalog)
        }
        .sorted { $0.id < $1.id }
    }

    /// The document for `configs`; `rootAttributes` are added to `EOCS` beside `version`.
    public func render(_ configs: [Mitigation], rootAttributes: [(String, String)] = []) -> EOCSDocument {
        var xml = Self.declaration + "\n"
        xml += Self.startTag("EOCS", rootAttributes + [("version", Self.formatVersion)]) + "\n"
        for config in configs {
            xml += "  " + Self.startTag("Config", [("id", config.id), ("desc", config.description)]) + "\n"
            xml += "    <ActionList>\n"
            for action in config.actions {
                xml += Self.render(action, ruleDescription: config.description)
            }
            xml += "    </ActionList>\n"
            xml += "  </Config>\n"
        }
        return EOCSDocument(head: xml + "  ", tail: "\n</EOCS>")
    }

    private static func render(_ action: MitigationAction, ruleDescription: String) -> String {
        var attributes = [("type", action.typeName), ("desc", action.description ?? ruleDescription)]
        let value: String
        var extra = ""
        switch action {
        case .doNothing:
            attributes.append(("scope", UrlRewrite.Scope.server.rawValue))
            value = MitigationAction.doNothingType
        case .disableService(let service, _):
            attributes.append(("scope", UrlRewrite.Scope.server.rawValue))
            value = service
        case .disableAppPool(let appPool, _):
            attributes.append(("scope", UrlRewrite.Scope.server.rawValue))
            value = appPool
        case .iisUrlRewrite(let rewrite, _):
            attributes.append(("scope", rewrite.scope.rawValue))
            if let site = rewrite.site { attributes.append(("site", site)) }
            value = rewrite.rule.name
            let rule = rewrite.rule
            extra = "        " + startTag("Rule", [
                ("name", rule.name), ("input", rule.input), ("pattern", rule.pattern), ("action", rule.action),
            ]) + "</Rule>\n"
        }
        return "      " + startTag("Action", attributes) + "\n"
            + "        <Value>" + XMLText.escapeText(value) + "</Value>\n"
            + extra
            + "      </Action>\n"
    }

    /// A start tag with attributes in C14N order (by name; none here is namespaced).
    static func startTag(_ name: String, _ attributes: [(String, String)]) -> String {
        var tag = "<" + name
        for (key, value) in attributes.sorted(by: { $0.0.unicodeScalars.lexicographicallyPrecedes($1.0.unicodeScalars) }) {
            tag += " " + key + "=\"" + XMLText.escapeAttribute(value) + "\""
        }
        return tag + ">"
    }
}

/// A rendered EOCS document with a slot, as the last child of `EOCS`, for its enveloped signature.
public struct EOCSDocument: Sendable, Equatable {
    /// The declaration, the root start tag and the configs, up to the signature slot.
    let head: String
    /// What follows the slot: the end of the root element.
    let tail: String

    /// The document as served with `signature` (a `Signature` element) in its slot.
    public func signed(with signature: String) -> String {
        head + signature + tail
    }

    /// The document with an empty signature slot.
    public var unsigned: String { head + tail }

    /// What an enveloped signature's digest covers: the Canonical XML form of the document once
    /// the `Signature` element is removed. The rendering is canonical already, so that is the
    /// unsigned document without its XML declaration (C14N drops it).
    public var digestInput: String {
        String(head.dropFirst(FeedRenderer.declaration.count + 1)) + tail
    }
}
