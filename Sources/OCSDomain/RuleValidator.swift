/// One problem with a rule, located by its field path (`actions[0].rule.pattern`).
public struct RuleProblem: Hashable, Sendable, CustomStringConvertible {
    public let field: String
    public let message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { field.isEmpty ? message : "\(field): \(message)" }
}

/// The most a rule may hold, so every rule, feed and log line stays small. docs/rules.md ("Limits") lists them.
public enum RuleLimits {
    /// Actions in one rule.
    public static let actions = 32
    /// Entries in `references`.
    public static let references = 32
    /// Entries in `applies.ranges`.
    public static let ranges = 32
    /// Entries in `applies.cus`.
    public static let cumulativeUpdates = 32
    /// UTF-8 bytes of a rule's or an action's `description`.
    public static let description = 1024
    /// UTF-8 bytes of a rewrite rule's `pattern`.
    public static let pattern = 1024
    /// UTF-8 bytes of every other text field (an id is at most 64).
    public static let text = 256
    /// UTF-8 bytes of one rule document: a rule file or an API request body.
    public static let documentSize = 64 * 1024
    /// Nesting levels of one rule document; a rule needs five.
    public static let documentDepth = 16
}

/// Checks what a rule's structure cannot: identifiers, known update names, ranges, regexes, text.
public struct RuleValidator: Sendable {
    public let catalog: BuildCatalog

    public init(catalog: BuildCatalog = .embedded) {
        self.catalog = catalog
    }

    /// `[A-Za-z0-9._-]{1,64}`: the form of a mitigation id, in rules and in `applied`/`blocked` lists.
    public static func isValidID(_ id: some StringProtocol) -> Bool {
        (1...64).contains(id.utf8.count) && id.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2E || byte == 0x5F || byte == 0x2D
        }
    }

    public func problems(in rule: Mitigation) -> [RuleProblem] {
        var problems: [RuleProblem] = []
        func text(_ value: String, _ field: String, limit: Int = RuleLimits.text, required: Bool = true) {
            if required && value.allSatisfy(\.isWhitespace) {
                problems.append(RuleProblem(field: field, message: "must not be empty"))
            } else if value.utf8.count > limit {
                problems.append(RuleProblem(field: field, message: "is \(value.utf8.count) bytes long: at most \(limit) are allowed"))
            } else if let scalar = value.unicodeScalars.first(where: { !XMLText.isAllowed($0) }) {
                let code = "U+" + String(scalar.value, radix: 16, uppercase: true)
                problems.append(RuleProblem(field: field, message: "contains the character \(code), which XML cannot carry"))
            }
        }

        // Windows' service and IIS cmdlets read * ? [ ] as wildcards: such a name could stop every service.
        func exactName(_ value: String, _ field: String) {
            text(value, field)
            if value.contains(where: { "*?[]".contains($0) }) {
                problems.append(RuleProblem(field: field, message: "'\(value.prefix(80))' holds * ? [ or ], which Windows reads as wildcards: name one exactly"))
            }
        }

        if !Self.isValidID(rule.id) {
            problems.append(RuleProblem(field: "id", message: "'\(rule.id.prefix(80))' is not a valid id: use 1 to 64 of A-Z a-z 0-9 . _ -"))
        }
        text(rule.description, "description", limit: RuleLimits.description)
        problems += Self.tooMany(rule.references.count, "references", limit: RuleLimits.references)
        for (index, reference) in rule.references.enumerated() {
            text(reference, "references[\(index)]")
        }
        if let applies = rule.applies {
            problems += self.problems(in: applies)
        }
        if rule.actions.isEmpty {
            problems.append(RuleProblem(field: "actions", message: "needs at least one action"))
        }
        problems += Self.tooMany(rule.actions.count, "actions", limit: RuleLimits.actions)
        for (index, action) in rule.actions.enumerated() {
            let field = "actions[\(index)]"
            if let description = action.description { text(description, "\(field).description", limit: RuleLimits.description) }
            switch action {
            case .doNothing:
                break
            case .disableService(let service, _):
                exactName(service, "\(field).service")
            case .disableAppPool(let appPool, _):
                exactName(appPool, "\(field).appPool")
            case .iisUrlRewrite(let rewrite, _):
                switch (rewrite.scope, rewrite.site) {
                case (.site, nil):
                    problems.append(RuleProblem(field: "\(field).site", message: "is required when scope is Site"))
                case (.site, let site?):
                    text(site, "\(field).site")
                case (.server, .some):
                    problems.append(RuleProblem(field: "\(field).site", message: "must be absent when scope is Server"))
                case (.server, nil):
                    break
                }
                text(rewrite.rule.name, "\(field).rule.name")
                text(rewrite.rule.input, "\(field).rule.input")
                let patternProblems = problems.count
                text(rewrite.rule.pattern, "\(field).rule.pattern", limit: RuleLimits.pattern)
                // Compile only a pattern that passed the text checks: a long one is costly to compile.
                if problems.count == patternProblems, let message = Self.regexProblem(rewrite.rule.pattern) {
                    problems.append(RuleProblem(field: "\(field).rule.pattern", message: message))
                }
                if !UrlRewrite.Rule.actions.contains(rewrite.rule.action) {
                    problems.append(RuleProblem(
                        field: "\(field).rule.action",
                        message: "'\(rewrite.rule.action.prefix(80))' is not supported: use \(UrlRewrite.Rule.actions.joined(separator: " or "))"
                    ))
                }
            }
        }
        return problems
    }

    private func problems(in applies: Applicability) -> [RuleProblem] {
        var problems: [RuleProblem] = []
        if let products = applies.products {
            if products.isEmpty {
                problems.append(RuleProblem(field: "applies.products", message: "must list at least one product, or be left out for every product"))
            }
            if Set(products).count != products.count {
                problems.append(RuleProblem(field: "applies.products", message: "lists a product twice"))
            }
        }
        if let cus = applies.cumulativeUpdates {
            if cus.isEmpty {
                problems.append(RuleProblem(field: "applies.cus", message: "must list at least one CU, or be left out for every CU"))
            }
            if Set(cus).count != cus.count {
                problems.append(RuleProblem(field: "applies.cus", message: "lists a CU twice"))
            }
            problems += Self.tooMany(cus.count, "applies.cus", limit: RuleLimits.cumulativeUpdates)
            for (index, cu) in cus.enumerated() {
                let field = "applies.cus[\(index)]"
                if cu.update != nil {
                    problems.append(RuleProblem(field: field, message: "'\(cu.written.prefix(80))' names an update: cus takes CU branches like '\(cu.product.rawValue) \(cu.cumulativeUpdate)'; to stop at an update use fixedBy"))
                } else if catalog.entry(named: cu) == nil {
                    problems.append(RuleProblem(field: field, message: Self.unknownName(cu)))
                }
            }
        }
        switch applies.narrowing {
        case nil:
            break
        case .fixedBy(let name):
            if !catalog.knowsUpdate(named: name) {
                problems.append(RuleProblem(field: "applies.fixedBy", message: "unknown update name '\(name.prefix(80))': use a name from the build catalog, e.g. Oct22SU"))
            }
        case .ranges(let ranges):
            if ranges.isEmpty {
                problems.append(RuleProblem(field: "applies.ranges", message: "must list at least one range"))
            }
            problems += Self.tooMany(ranges.count, "applies.ranges", limit: RuleLimits.ranges)
            for (index, range) in ranges.enumerated() {
                let field = "applies.ranges[\(index)]"
                var resolved: [String: ExchangeBuild] = [:]
                for (name, bound) in [("from", range.from), ("until", range.until)] {
                    guard let bound else { continue }
                    if let build = bound.resolved(in: catalog) {
                        resolved[name] = build
                    } else if case .name(let catalogName) = bound {
                        problems.append(RuleProblem(field: "\(field).\(name)", message: Self.unknownName(catalogName)))
                    }
                }
                if range.from == nil && range.until == nil {
                    problems.append(RuleProblem(field: field, message: "needs 'from', 'until' or both"))
                } else if let from = resolved["from"], let until = resolved["until"], from >= until {
                    problems.append(RuleProblem(field: field, message: "is empty: 'from' \(Self.shown(range.from, from)) is not below 'until' \(Self.shown(range.until, until))"))
                }
            }
        }
        return problems
    }

    /// "unknown catalog name": where to look, and how to add the row.
    private static func unknownName(_ name: CatalogName) -> String {
        "'\(name.written.prefix(80))' is not in the build catalog: ocs builds list shows it; ocs builds add adds a new CU or update"
    }

    /// A bound as written, with its build when it is a name.
    private static func shown(_ bound: RangeBound?, _ build: ExchangeBuild) -> String {
        if case .name(let name)? = bound { return "'\(name.written)' (\(build))" }
        return build.description
    }

    /// A problem when a list holds more than `limit` entries.
    private static func tooMany(_ count: Int, _ field: String, limit: Int) -> [RuleProblem] {
        count > limit ? [RuleProblem(field: field, message: "lists \(count) entries: at most \(limit) are allowed")] : []
    }

    /// Nil when `pattern` compiles as a regular expression, else why not.
    static func regexProblem(_ pattern: String) -> String? {
        do {
            _ = try Regex(pattern)
            return nil
        } catch {
            return "is not a valid regular expression: \(error)"
        }
    }

    /// Problems that only show across a set of rules: the same id twice.
    public static func duplicateIDs(in rules: [Mitigation]) -> Set<String> {
        var seen: Set<String> = []
        var duplicates: Set<String> = []
        for rule in rules where !seen.insert(rule.id).inserted {
            duplicates.insert(rule.id)
        }
        return duplicates
    }
}
