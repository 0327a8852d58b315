// The rule schema as the database stores it and `ocs rules export` writes it: one Codable
// implementation, strict about unknown fields so a typo never silently drops a restriction.
// Input from rule files and the API goes through OCSRuleFiles' RuleTreeDecoder instead, which
// reports every problem at once and keeps YAML's and JSON's types. The coding keys below are
// public so that decoder takes its field names from them: they are the one list of field names.

extension Mitigation: Codable {
    public enum CodingKeys: String, CodingKey, CaseIterable, Sendable {
        case id, description, references, state, applies, actions
    }

    public init(from decoder: any Decoder) throws {
        try StrictKeys.check(decoder, allowed: CodingKeys.allCases.map(\.rawValue))
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        description = try container.decode(String.self, forKey: .description)
        references = try container.decodeIfPresent([String].self, forKey: .references) ?? []
        state = try container.decodeIfPresent(RuleState.self, forKey: .state) ?? .draft
        applies = try container.decodeIfPresent(Applicability.self, forKey: .applies)
        actions = try container.decode([MitigationAction].self, forKey: .actions)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(description, forKey: .description)
        if !references.isEmpty { try container.encode(references, forKey: .references) }
        try container.encode(state, forKey: .state)
        try container.encodeIfPresent(applies, forKey: .applies)
        try container.encode(actions, forKey: .actions)
    }
}

extension Applicability: Codable {
    public enum CodingKeys: String, CodingKey, CaseIterable, Sendable {
        case products, cus, fixedBy, ranges
    }

    public init(from decoder: any Decoder) throws {
        try StrictKeys.check(decoder, allowed: CodingKeys.allCases.map(\.rawValue))
        let container = try decoder.container(keyedBy: CodingKeys.self)
        products = try container.decodeIfPresent([ExchangeProduct].self, forKey: .products)
        cumulativeUpdates = try container.decodeIfPresent([CatalogName].self, forKey: .cus)
        let fixedBy = try container.decodeIfPresent(String.self, forKey: .fixedBy)
        let ranges = try container.decodeIfPresent([BuildRange].self, forKey: .ranges)
        switch (fixedBy, ranges) {
        case (let fixedBy?, nil): narrowing = .fixedBy(fixedBy)
        case (nil, let ranges?): narrowing = .ranges(ranges)
        case (nil, nil): narrowing = nil
        case (.some, .some):
            throw DecodingError.dataCorruptedError(
                forKey: .ranges, in: container, debugDescription: Self.eitherNarrowingMessage
            )
        }
    }

    /// Why a document giving both narrowings is refused.
    public static let eitherNarrowingMessage =
        "use either '\(CodingKeys.fixedBy.stringValue)' or '\(CodingKeys.ranges.stringValue)', not both"

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(products, forKey: .products)
        try container.encodeIfPresent(cumulativeUpdates, forKey: .cus)
        switch narrowing {
        case .fixedBy(let name): try container.encode(name, forKey: .fixedBy)
        case .ranges(let ranges): try container.encode(ranges, forKey: .ranges)
        case nil: break
        }
    }
}

extension BuildRange: Codable {
    public enum CodingKeys: String, CodingKey, CaseIterable, Sendable {
        case from, until
    }

    public init(from decoder: any Decoder) throws {
        try StrictKeys.check(decoder, allowed: CodingKeys.allCases.map(\.rawValue))
        let container = try decoder.container(keyedBy: CodingKeys.self)
        from = try container.decodeIfPresent(RangeBound.self, forKey: .from)
        until = try container.decodeIfPresent(RangeBound.self, forKey: .until)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(from, forKey: .from)
        try container.encodeIfPresent(until, forKey: .until)
    }
}

// Names are stored as written (`Exchange 2019 CU14` stays so), so `ocs rules export` gives back
// what was imported; builds in their dotted form.
extension CatalogName: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        do {
            try self.init(parsing: try container.decode(String.self))
        } catch let error as CatalogNameError {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(written)
    }
}

extension RangeBound: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        do {
            try self.init(parsing: try container.decode(String.self))
        } catch let error as RangeBoundError {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension MitigationAction: Codable {
    public enum CodingKeys: String, CodingKey, CaseIterable, Sendable {
        case type, description, scope, site, rule, service, appPool
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = try container.decode(String.self, forKey: .type)
        let description = try container.decodeIfPresent(String.self, forKey: .description)
        switch type {
        case Self.doNothingType:
            self = .doNothing(description: description)
        case Self.disableServiceType:
            self = .disableService(try container.decode(String.self, forKey: .service), description: description)
        case Self.disableAppPoolType:
            self = .disableAppPool(try container.decode(String.self, forKey: .appPool), description: description)
        case Self.iisUrlRewriteType:
            let rewrite = UrlRewrite(
                scope: try container.decode(UrlRewrite.Scope.self, forKey: .scope),
                site: try container.decodeIfPresent(String.self, forKey: .site),
                rule: try container.decode(UrlRewrite.Rule.self, forKey: .rule)
            )
            self = .iisUrlRewrite(rewrite, description: description)
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: container,
                debugDescription: "unknown action type '\(type.prefix(80))': use one of \(Self.typeNames.joined(separator: ", "))"
            )
        }
        try StrictKeys.check(decoder, allowed: (Self.fields(ofType: type) ?? []).map(\.rawValue), context: "a \(type) action")
    }

    /// The fields an action of the type named `type` may have, in the order messages list them;
    /// nil for a name that is not an action type.
    public static func fields(ofType type: String) -> [CodingKeys]? {
        switch type {
        case doNothingType: [.type, .description]
        case disableServiceType: [.type, .description, .service]
        case disableAppPoolType: [.type, .description, .appPool]
        case iisUrlRewriteType: [.type, .description, .scope, .site, .rule]
        default: nil
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(typeName, forKey: .type)
        try container.encodeIfPresent(description, forKey: .description)
        switch self {
        case .doNothing:
            break
        case .disableService(let service, _):
            try container.encode(service, forKey: .service)
        case .disableAppPool(let appPool, _):
            try container.encode(appPool, forKey: .appPool)
        case .iisUrlRewrite(let rewrite, _):
            try container.encode(rewrite.scope, forKey: .scope)
            try container.encodeIfPresent(rewrite.site, forKey: .site)
            try container.encode(rewrite.rule, forKey: .rule)
        }
    }
}

extension UrlRewrite.Rule: Codable {
    public enum CodingKeys: String, CodingKey, CaseIterable, Sendable {
        case name, input, pattern, action
    }

    public init(from decoder: any Decoder) throws {
        try StrictKeys.check(decoder, allowed: CodingKeys.allCases.map(\.rawValue))
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        input = try container.decode(String.self, forKey: .input)
        pattern = try container.decode(String.self, forKey: .pattern)
        action = try container.decode(String.self, forKey: .action)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(input, forKey: .input)
        try container.encode(pattern, forKey: .pattern)
        try container.encode(action, forKey: .action)
    }
}

/// Rejects keys a schema object does not define.
enum StrictKeys {
    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    static func check(_ decoder: any Decoder, allowed: [String], context: String? = nil) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        for key in container.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) where !allowed.contains(key.stringValue) {
            let place = context.map { " in \($0)" } ?? ""
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: decoder.codingPath + [key],
                debugDescription: "unknown field '\(key.stringValue.prefix(64))'\(place): expected one of \(allowed.joined(separator: ", "))"
            ))
        }
    }
}

/// A closed set of names in the schema; decoding names the accepted values when it fails.
protocol SchemaName: RawRepresentable<String>, CaseIterable, Codable {}

extension SchemaName {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Self(rawValue: text) else {
            let names = Self.allCases.map(\.rawValue).joined(separator: ", ")
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text.prefix(64))' is not one of \(names)")
        }
        self = value
    }
}

extension ExchangeProduct: SchemaName {}
extension RuleState: SchemaName {}
extension UrlRewrite.Scope: SchemaName {}
