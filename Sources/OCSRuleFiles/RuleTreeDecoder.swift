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

    private mutating func rule(_ node: RuleNode) -> Mitigation {
        let fields = mapping(node, at: "", allowed: ["id", "description", "references", "state", "applies", "actions"], what: "a rule")
        let id = text(fields, "id", in: "", parent: node) ?? ""
        let description = text(fields, "description", in: "", parent: node) ?? ""
        let references = list(fields["references"], at: "references").enumerated().map { index, item in
            text(item, at: "references[\(index)]") ?? ""
        }
        let state = fields["state"].flatMap { name($0, at: "state", as: RuleState.self) } ?? .draft
        let applies = fields["applies"].map { applicability($0, at: "applies") }
        if fields["actions"] == nil, fields.isDecoded { missing("actions", in: "", parent: node) }
        let actions = list(fields["actions"], at: "actions").enumerated().map { index, item in
            action(item, at: "actions[\(index)]")
        }
        return Mitigation(id: id, description: description, references: references, state: state, applies: applies, actions: actions)
    }

    private mutating func applicability(_ node: RuleNode, at path: String) -> Applicability {
        let fields = mapping(node, at: path, allowed: ["products", "cus", "fixedBy", "ranges"], what: "applies")
        var products: [ExchangeProduct]?
        if let listed = fields["products"] {
            let items = list(listed, at: "\(path).products")
            let decoded = items.enumerated().compactMap { index, item in name(item, at: "\(path).products[\(index)]", as: ExchangeProduct.self) }
            if decoded.count != items.count { undecodable.append("\(path).products") }
            products = decoded
        }
        var cus: [CatalogName]?
        if let listed = fields["cus"] {
            let items = list(listed, at: "\(path).cus")
            let decoded = items.enumerated().compactMap { index, item in catalogName(item, at: "\(path).cus[\(index)]") }
            if decoded.count != items.count { undecodable.append("\(path).cus") }
            cus = decoded
        }
        let fixedBy = fields["fixedBy"].map { text($0, at: "\(path).fixedBy") ?? "" }
        let ranges = fields["ranges"].map { listed in
            list(listed, at: "\(path).ranges").enumerated().map { index, item in range(item, at: "\(path).ranges[\(index)]") }
        }
        switch (fixedBy, ranges) {
        case (let fixedBy?, nil): return Applicability(products: products, cumulativeUpdates: cus, narrowing: .fixedBy(fixedBy))
        case (nil, let ranges?): return Applicability(products: products, cumulativeUpdates: cus, narrowing: .ranges(ranges))
        case (nil, nil): return Applicability(products: products, cumulativeUpdates: cus, narrowing: nil)
        case (let fixedBy?, .some):
            report("\(path).ranges", line: lines["\(path).ranges"], "use either 'fixedBy' or 'ranges', not both")
            return Applicability(products: products, cumulativeUpdates: cus, narrowing: .fixedBy(fixedBy))
        }
    }

    private mutating func range(_ node: RuleNode, at path: String) -> BuildRange {
        let fields = mapping(node, at: path, allowed: ["from", "until"], what: "a range")
        let before = problems.count
        let from = fields["from"].flatMap { bound($0, at: "\(path).from") }
        let until = fields["until"].flatMap { bound($0, at: "\(path).until") }
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
        let common = ["type", "description"]
        let fieldsByType: [String: [String]] = [
            MitigationAction.doNothingType: common,
            MitigationAction.disableServiceType: common + ["service"],
            MitigationAction.disableAppPoolType: common + ["appPool"],
            MitigationAction.iisUrlRewriteType: common + ["scope", "site", "rule"],
        ]
        // The fields allowed depend on the type: read it first, then check the rest against it.
        var type: String?
        if case .mapping(let entries) = node.content, let entry = entries.first(where: { $0.name == "type" }) {
            lines["\(path).type"] = entry.line
            type = text(entry.value, at: "\(path).type")
            if let name = type, fieldsByType[name] == nil {
                report("\(path).type", line: entry.line, "unknown action type '\(name.prefix(80))': use one of \(MitigationAction.typeNames.joined(separator: ", "))")
                type = nil
            }
        }
        let allowed = type.flatMap { fieldsByType[$0] } ?? Array(Set(fieldsByType.values.joined())).sorted()
        let fields = mapping(node, at: path, allowed: allowed, what: type.map { "a \($0) action" } ?? "an action")
        if fields.isDecoded, fields["type"] == nil { missing("type", in: path, parent: node) }
        let description = fields["description"].map { text($0, at: "\(path).description") ?? "" }
        switch type {
        case MitigationAction.disableServiceType:
            return .disableService(text(fields, "service", in: path, parent: node) ?? "", description: description)
        case MitigationAction.disableAppPoolType:
            return .disableAppPool(text(fields, "appPool", in: path, parent: node) ?? "", description: description)
        case MitigationAction.iisUrlRewriteType:
            let site = fields["site"].map { text($0, at: "\(path).site") ?? "" }
            let scope: UrlRewrite.Scope
            if let named = fields["scope"] {
                // A placeholder that draws no finding about `site` either way.
                scope = name(named, at: "\(path).scope", as: UrlRewrite.Scope.self) ?? (site == nil ? .server : .site)
            } else {
                missing("scope", in: path, parent: node)
                scope = site == nil ? .server : .site
            }
            let rule: UrlRewrite.Rule
            if let ruleNode = fields["rule"] {
                rule = rewriteRule(ruleNode, at: "\(path).rule")
            } else {
                if fields.isDecoded { missing("rule", in: path, parent: node) }
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
        let fields = mapping(node, at: path, allowed: ["name", "input", "pattern", "action"], what: "a rewrite rule")
        return UrlRewrite.Rule(
            name: text(fields, "name", in: path, parent: node) ?? "",
            input: text(fields, "input", in: path, parent: node) ?? "",
            pattern: text(fields, "pattern", in: path, parent: node) ?? "",
            action: text(fields, "action", in: path, parent: node) ?? ""
        )
    }

    // MARK: Reading nodes

    /// The known fields of a mapping by name; reports every unknown field and a non-mapping.
    private struct Fields {
        var values: [String: RuleNode] = [:]
        /// False when the node was not a mapping: its fields are not reported missing one by one.
        var isDecoded = false

        subscript(name: String) -> RuleNode? { values[name] }
    }

    private mutating func mapping(_ node: RuleNode, at path: String, allowed: [String], what: String) -> Fields {
        guard case .mapping(let entries) = node.content else {
            report(path, line: node.line, "expected \(what) as a mapping, found \(node.kindDescription)")
            return Fields()
        }
        var fields = Fields(isDecoded: true)
        for entry in entries {
            guard let name = entry.name else {
                report(path, line: entry.line, "a field name must be text, not a list or mapping")
                continue
            }
            let fieldPath = path.isEmpty ? name : "\(path).\(name)"
            guard allowed.contains(name) else {
                report(fieldPath, line: entry.line, Self.unknownField(name, in: what, allowed: allowed))
                continue
            }
            lines[fieldPath] = entry.line ?? node.line
            fields.values[name] = entry.value
        }
        return fields
    }

    /// The text of a required field of a mapping; reports it missing or of the wrong type.
    private mutating func text(_ fields: Fields, _ name: String, in path: String, parent: RuleNode) -> String? {
        let fieldPath = path.isEmpty ? name : "\(path).\(name)"
        guard let node = fields[name] else {
            if fields.isDecoded { missing(name, in: path, parent: parent) }
            return nil
        }
        return text(node, at: fieldPath)
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

    private mutating func missing(_ name: String, in path: String, parent: RuleNode) {
        let fieldPath = path.isEmpty ? name : "\(path).\(name)"
        report(fieldPath, line: parent.line, "missing required field '\(name)'")
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
        if let suggestion = closest(to: name, in: allowed) { return "\(shown): did you mean '\(suggestion)'?" }
        return "\(shown): expected one of \(allowed.joined(separator: ", "))"
    }

    /// The allowed name `name` most likely misspells: the same but for case, or at most two edits away.
    static func closest(to name: String, in allowed: [String]) -> String? {
        if let sameLetters = allowed.first(where: { $0.lowercased() == name.lowercased() }) { return sameLetters }
        guard name.count <= 64 else { return nil }
        let typed = Array(name.lowercased())
        // Names whose lengths differ by more than two are more than two edits apart: skip them.
        let scored = allowed.filter { abs($0.count - typed.count) <= 2 }.map { ($0, editDistance(typed, Array($0.lowercased()))) }
        return scored.filter { $0.1 <= 2 }.min { $0.1 < $1.1 }?.0
    }

    /// Levenshtein distance between two short strings.
    private static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, left) in a.enumerated() {
            var current = [i + 1] + Array(repeating: 0, count: b.count)
            for (j, right) in b.enumerated() {
                current[j + 1] = Swift.min(previous[j + 1] + 1, current[j] + 1, previous[j] + (left == right ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
