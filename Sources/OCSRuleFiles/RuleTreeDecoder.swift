import OCSDomain

/// A problem found while decoding, with the line it is on when the document has lines.
struct LocatedProblem: Sendable {
    let problem: RuleProblem
    let line: Int?
}

/// Decodes a `RuleNode` tree into a `Mitigation`, collecting every problem instead of stopping at
/// the first: unknown fields (with a did-you-mean), missing fields, wrong types, then the
/// `RuleValidator` checks on whatever could be decoded. Strict about types: a text field takes
/// only text, never null, a boolean or a number.
struct RuleTreeDecoder {
    /// Most problems reported for one document; past this a last line says how many more.
    static let maximumProblems = 50

    let validator: RuleValidator
    private var problems: [LocatedProblem] = []
    /// Fields whose value could not be decoded; validator findings at or under them are dropped,
    /// since they judge a placeholder rather than what the document says.
    private var undecodable: [String] = []
    /// The line of every field and list entry decoded, by path, to place validator findings.
    private var lines: [String: Int] = [:]

    init(validator: RuleValidator) {
        self.validator = validator
    }

    /// A valid rule and its warnings (`RuleValidator.warnings`), each on its line.
    struct Decoded {
        let rule: Mitigation
        let warnings: [LocatedProblem]
    }

    /// The rule, or every problem (at most `maximumProblems`, then a count of the rest).
    static func decode(_ root: RuleNode, validator: RuleValidator) -> Result<Decoded, Problems> {
        var decoder = RuleTreeDecoder(validator: validator)
        let rule = decoder.rule(root)
        for finding in validator.problems(in: rule) where !decoder.isUndecodable(finding.field) {
            decoder.problems.append(LocatedProblem(problem: finding, line: decoder.line(of: finding.field) ?? root.line))
        }
        guard !decoder.problems.isEmpty else {
            let warnings = validator.warnings(in: rule).map { LocatedProblem(problem: $0, line: decoder.line(of: $0.field) ?? root.line) }
            return .success(Decoded(rule: rule, warnings: warnings))
        }
        // In line order where lines are known; otherwise (JSON) in the order of the schema.
        var problems = decoder.problems.enumerated()
            .sorted { ($0.element.line ?? 0, $0.offset) < ($1.element.line ?? 0, $1.offset) }
            .map(\.element)
        if problems.count > maximumProblems {
            let more = problems.count - maximumProblems
            problems = Array(problems.prefix(maximumProblems))
            problems.append(LocatedProblem(
                problem: RuleProblem(field: "", message: "\(more) more problems not shown: fix these and check again"),
                line: problems.last?.line
            ))
        }
        return .failure(Problems(all: problems))
    }

    /// Every problem of one document, in the order found.
    struct Problems: Error {
        let all: [LocatedProblem]
    }

    // MARK: The schema

    // Field names come from the coding keys of the Codable schema (`Mitigation+Codable` in
    // OCSDomain): a field renamed there is renamed here, and one added there is refused here
    // until this decoder reads it (OCSRuleFilesTests' SchemaRoundTripTests fail meanwhile).
    private typealias RuleField = Mitigation.CodingKeys
    private typealias ApplicabilityField = Applicability.CodingKeys
    private typealias RangeField = BuildRange.CodingKeys
    private typealias ActionField = MitigationAction.CodingKeys
    private typealias RewriteField = UrlRewrite.Rule.CodingKeys

    private mutating func rule(_ node: RuleNode) -> Mitigation {
        let fields = mapping(node, at: "", allowed: RuleField.allCases, what: "a rule")
        let id = text(fields, .id, parent: node) ?? ""
        let description = text(fields, .description, parent: node) ?? ""
        let references = entries(fields, .references).map { text($0.node, at: $0.path) ?? "" }
        let state = fields[.state].flatMap { name($0, at: fields.path(of: .state), as: RuleState.self) } ?? .draft
        let applies = fields[.applies].map { applicability($0, at: fields.path(of: .applies)) }
        if fields[.actions] == nil, fields.isDecoded { missing(.actions, in: fields, parent: node) }
        let actions = entries(fields, .actions).map { action($0.node, at: $0.path) }
        return Mitigation(id: id, description: description, references: references, state: state, applies: applies, actions: actions)
    }

    private mutating func applicability(_ node: RuleNode, at path: String) -> Applicability {
        let fields = mapping(node, at: path, allowed: ApplicabilityField.allCases, what: RuleField.applies.stringValue)
        var products: [ExchangeProduct]?
        if fields[.products] != nil {
            let items = entries(fields, .products)
            let decoded = items.compactMap { name($0.node, at: $0.path, as: ExchangeProduct.self) }
            if decoded.count != items.count { undecodable.append(fields.path(of: .products)) }
            products = decoded
        }
        var cus: [CatalogName]?
        if fields[.cus] != nil {
            let items = entries(fields, .cus)
            let decoded = items.compactMap { catalogName($0.node, at: $0.path) }
            if decoded.count != items.count { undecodable.append(fields.path(of: .cus)) }
            cus = decoded
        }
        let fixedBy = fields[.fixedBy].map { text($0, at: fields.path(of: .fixedBy)) ?? "" }
        let ranges = fields[.ranges] == nil ? nil : entries(fields, .ranges).map { range($0.node, at: $0.path) }
        switch (fixedBy, ranges) {
        case (let fixedBy?, nil): return Applicability(products: products, cumulativeUpdates: cus, narrowing: .fixedBy(fixedBy))
        case (nil, let ranges?): return Applicability(products: products, cumulativeUpdates: cus, narrowing: .ranges(ranges))
        case (nil, nil): return Applicability(products: products, cumulativeUpdates: cus, narrowing: nil)
        case (let fixedBy?, .some):
            let rangesPath = fields.path(of: .ranges)
            report(rangesPath, line: lines[rangesPath], Applicability.eitherNarrowingMessage)
            return Applicability(products: products, cumulativeUpdates: cus, narrowing: .fixedBy(fixedBy))
        }
    }

    private mutating func range(_ node: RuleNode, at path: String) -> BuildRange {
        let fields = mapping(node, at: path, allowed: RangeField.allCases, what: "a range")
        let before = problems.count
        let from = fields[.from].flatMap { bound($0, at: fields.path(of: .from)) }
        let until = fields[.until].flatMap { bound($0, at: fields.path(of: .until)) }
        if problems.count != before { undecodable.append(path) }
        return BuildRange(from: from, until: until)
    }

    private mutating func bound(_ node: RuleNode, at path: String) -> RangeBound? {
        guard let text = text(node, at: path) else { return nil }
        do {
            return try RangeBound(parsing: text)
        } catch {
            report(path, line: node.line, error.description)
            return nil
        }
    }

    private mutating func catalogName(_ node: RuleNode, at path: String) -> CatalogName? {
        guard let text = text(node, at: path) else { return nil }
        do {
            return try CatalogName(parsing: text)
        } catch {
            report(path, line: lines[path] ?? node.line, error.description)
            return nil
        }
    }

    private mutating func action(_ node: RuleNode, at path: String) -> MitigationAction {
        // The fields allowed depend on the type: read it first, then check the rest against it.
        var type: String?
        let typePath = "\(path).\(ActionField.type.stringValue)"
        if case .mapping(let entries) = node.content, let entry = entries.first(where: { $0.name == ActionField.type.stringValue }) {
            lines[typePath] = entry.line
            type = text(entry.value, at: typePath)
            if let name = type, MitigationAction.fields(ofType: name) == nil {
                report(typePath, line: entry.line, "unknown action type '\(name.prefix(80))': use one of \(MitigationAction.typeNames.joined(separator: ", "))")
                type = nil
            }
        }
        // Without a known type, a field of any type is allowed (every key belongs to one), by name.
        let allowed = type.flatMap(MitigationAction.fields(ofType:)) ?? ActionField.allCases.sorted { $0.stringValue < $1.stringValue }
        let fields = mapping(node, at: path, allowed: allowed, what: type.map { "a \($0) action" } ?? "an action")
        if fields.isDecoded, fields[.type] == nil { missing(.type, in: fields, parent: node) }
        let description = fields[.description].map { text($0, at: fields.path(of: .description)) ?? "" }
        switch type {
        case MitigationAction.disableServiceType:
            return .disableService(text(fields, .service, parent: node) ?? "", description: description)
        case MitigationAction.disableAppPoolType:
            return .disableAppPool(text(fields, .appPool, parent: node) ?? "", description: description)
        case MitigationAction.iisUrlRewriteType:
            let site = fields[.site].map { text($0, at: fields.path(of: .site)) ?? "" }
            let scope: UrlRewrite.Scope
            if let named = fields[.scope] {
                // A placeholder that draws no finding about `site` either way.
                scope = name(named, at: fields.path(of: .scope), as: UrlRewrite.Scope.self) ?? (site == nil ? .server : .site)
            } else {
                missing(.scope, in: fields, parent: node)
                scope = site == nil ? .server : .site
            }
            let rule: UrlRewrite.Rule
            if let ruleNode = fields[.rule] {
                rule = rewriteRule(ruleNode, at: fields.path(of: .rule))
            } else {
                if fields.isDecoded { missing(.rule, in: fields, parent: node) }
                rule = UrlRewrite.Rule(name: "", input: "", pattern: "", action: "")
            }
            return .iisUrlRewrite(UrlRewrite(scope: scope, site: site, rule: rule), description: description)
        default:
            // DoNothing, or a placeholder where the type is missing or unknown.
            if type == nil { undecodable.append(path) }
            return .doNothing(description: description)
        }
    }

    private mutating func rewriteRule(_ node: RuleNode, at path: String) -> UrlRewrite.Rule {
        let fields = mapping(node, at: path, allowed: RewriteField.allCases, what: "a rewrite rule")
        return UrlRewrite.Rule(
            name: text(fields, .name, parent: node) ?? "",
            input: text(fields, .input, parent: node) ?? "",
            pattern: text(fields, .pattern, parent: node) ?? "",
            action: text(fields, .action, parent: node) ?? ""
        )
    }

    // MARK: Reading nodes

    /// The known fields of one mapping, by coding key.
    private struct Fields<Key: CodingKey> {
        /// Where the mapping is: empty for the rule itself, else `applies`, `actions[0]` and so on.
        let path: String
        var values: [String: RuleNode] = [:]
        /// False when the node was not a mapping: its fields are not reported missing one by one.
        var isDecoded = false

        subscript(key: Key) -> RuleNode? { values[key.stringValue] }

        /// The path of a field: `applies.fixedBy`, `actions[0].rule`.
        func path(of key: Key) -> String {
            path.isEmpty ? key.stringValue : "\(path).\(key.stringValue)"
        }
    }

    /// The fields of a mapping named by `allowed`; reports every unknown field and a non-mapping.
    private mutating func mapping<Key: CodingKey>(_ node: RuleNode, at path: String, allowed: [Key], what: String) -> Fields<Key> {
        guard case .mapping(let entries) = node.content else {
            report(path, line: node.line, "expected \(what) as a mapping, found \(node.kindDescription)")
            return Fields(path: path)
        }
        let names = allowed.map(\.stringValue)
        var fields = Fields<Key>(path: path, isDecoded: true)
        for entry in entries {
            guard let name = entry.name else {
                report(path, line: entry.line, "a field name must be text, not a list or mapping")
                continue
            }
            let fieldPath = path.isEmpty ? name : "\(path).\(name)"
            guard names.contains(name) else {
                report(fieldPath, line: entry.line, Self.unknownField(name, in: what, allowed: names))
                continue
            }
            lines[fieldPath] = entry.line ?? node.line
            fields.values[name] = entry.value
        }
        return fields
    }

    /// The text of a required field of a mapping; reports it missing or of the wrong type.
    private mutating func text<Key>(_ fields: Fields<Key>, _ key: Key, parent: RuleNode) -> String? {
        guard let node = fields[key] else {
            if fields.isDecoded { missing(key, in: fields, parent: parent) }
            return nil
        }
        return text(node, at: fields.path(of: key))
    }

    /// The text of a node; reports null, booleans, numbers, lists and mappings by name.
    private mutating func text(_ node: RuleNode, at path: String) -> String? {
        switch node.content {
        case .scalar(.text(let value)):
            return value
        case .scalar(.null), .scalar(.other):
            report(path, line: lines[path] ?? node.line, "expected text, found \(node.kindDescription): quote it if you mean the text")
        case .mapping, .sequence:
            report(path, line: lines[path] ?? node.line, "expected text, found \(node.kindDescription)")
        }
        return nil
    }

    /// The entries of a list field with their paths (`references[0]`), none when the field is
    /// absent; reports a value that is not a list.
    private mutating func entries<Key>(_ fields: Fields<Key>, _ key: Key) -> [(path: String, node: RuleNode)] {
        let path = fields.path(of: key)
        return list(fields[key], at: path).enumerated().map { index, item in ("\(path)[\(index)]", item) }
    }

    /// The entries of a list (none when absent); reports a node that is not a list.
    private mutating func list(_ node: RuleNode?, at path: String) -> [RuleNode] {
        guard let node else { return [] }
        guard case .sequence(let items) = node.content else {
            report(path, line: lines[path] ?? node.line, "expected a list, found \(node.kindDescription)")
            return []
        }
        for (index, item) in items.enumerated() { lines["\(path)[\(index)]"] = item.line }
        return items
    }

    /// One of a closed set of names; reports anything else with the names accepted.
    private mutating func name<Name: RawRepresentable<String> & CaseIterable>(_ node: RuleNode, at path: String, as _: Name.Type) -> Name? {
        guard let text = text(node, at: path) else { return nil }
        if let value = Name(rawValue: text) { return value }
        let names = Name.allCases.map(\.rawValue)
        // Only a case slip gets a suggestion: Exchange2013 is not a typo of Exchange2016.
        let hint = names.first { $0.lowercased() == text.lowercased() }.map { ": did you mean '\($0)'?" } ?? ""
        report(path, line: lines[path] ?? node.line, "'\(text.prefix(64))' is not one of \(names.joined(separator: ", "))\(hint)")
        return nil
    }

    private mutating func missing<Key>(_ key: Key, in fields: Fields<Key>, parent: RuleNode) {
        report(fields.path(of: key), line: parent.line, "missing required field '\(key.stringValue)'")
    }

    private mutating func report(_ field: String, line: Int?, _ message: String) {
        problems.append(LocatedProblem(problem: RuleProblem(field: field, message: message), line: line))
        undecodable.append(field)
    }

    // MARK: Placing findings

    private func isUndecodable(_ field: String) -> Bool {
        undecodable.contains { $0.isEmpty || $0 == field || field.hasPrefix($0 + ".") || field.hasPrefix($0 + "[") }
    }

    /// The line of `field`, or of its nearest ancestor with a known line.
    private func line(of field: String) -> Int? {
        var path = Substring(field)
        while !path.isEmpty {
            if let line = lines[String(path)] { return line }
            guard let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) else { break }
            path = path[..<cut]
        }
        return nil
    }

    /// "unknown field 'fixedby' in applies: did you mean 'fixedBy'?", or the fields allowed.
    static func unknownField(_ name: String, in what: String, allowed: [String]) -> String {
        let shown = "unknown field '\(name.prefix(64))'" + (what == "a rule" ? "" : " in \(what)")
        if let suggestion = NameSuggestion.closest(to: name, in: allowed) { return "\(shown): did you mean '\(suggestion)'?" }
        return "\(shown): expected one of \(allowed.joined(separator: ", "))"
    }
}
