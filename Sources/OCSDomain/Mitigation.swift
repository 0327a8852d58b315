/// One mitigation rule as the security team authors it; the feed serves it as a `Config`.
public struct Mitigation: Hashable, Sendable {
    public var id: String
    public var description: String
    public var references: [String]
    public var state: RuleState
    /// Which builds the rule applies to; nil means every build.
    public var applies: Applicability?
    public var actions: [MitigationAction]

    public init(
        id: String, description: String, references: [String] = [], state: RuleState = .draft,
        applies: Applicability? = nil, actions: [MitigationAction]
    ) {
        self.id = id
        self.description = description
        self.references = references
        self.state = state
        self.applies = applies
        self.actions = actions
    }
}

/// Where a rule is in its lifecycle; only `published` rules reach the feed.
public enum RuleState: String, CaseIterable, Codable, Sendable {
    case draft
    case published
    case retired
}

/// The builds a rule applies to: some products and CU branches, optionally narrowed by a fixing
/// update or ranges. Every part given must hold.
public struct Applicability: Hashable, Sendable {
    /// Nil means every product.
    public var products: [ExchangeProduct]?
    /// CU branches by name (`Exchange2019 CU14`), as written; nil means every branch.
    public var cumulativeUpdates: [CatalogName]?
    public var narrowing: Narrowing?

    public init(products: [ExchangeProduct]? = nil, cumulativeUpdates: [CatalogName]? = nil, narrowing: Narrowing? = nil) {
        self.products = products
        self.cumulativeUpdates = cumulativeUpdates
        self.narrowing = narrowing
    }

    /// The update that fixes what the rule mitigates, when it is narrowed by one.
    public var fixedBy: String? {
        if case .fixedBy(let update)? = narrowing { return update }
        return nil
    }

    /// At most one of `fixedBy` and `ranges` narrows the listed products.
    public enum Narrowing: Hashable, Sendable {
        /// Exposed until the named update (e.g. `Oct22SU`) is installed; see `Applicability.includes`.
        case fixedBy(String)
        /// Exposed inside any of these half-open ranges.
        case ranges([BuildRange])
    }
}

/// A half-open range of builds `[from, until)`; a missing bound is open. Bounds may be catalog
/// names, resolved against the catalog each time the range is judged.
public struct BuildRange: Hashable, Sendable {
    public var from: RangeBound?
    public var until: RangeBound?

    public init(from: RangeBound?, until: RangeBound?) {
        self.from = from
        self.until = until
    }

    /// A range between two builds.
    public init(fromBuild: ExchangeBuild?, untilBuild: ExchangeBuild?) {
        self.init(from: fromBuild.map(RangeBound.build), until: untilBuild.map(RangeBound.build))
    }

    /// Whether `build` lies in the range. A bound naming a row the catalog does not list matches
    /// nothing: validation refuses such rules, so this only guards a catalog that lost a row.
    public func contains(_ build: ExchangeBuild, catalog: BuildCatalog) -> Bool {
        if let from {
            guard let lower = from.resolved(in: catalog) else { return false }
            if build < lower { return false }
        }
        if let until {
            guard let upper = until.resolved(in: catalog) else { return false }
            if build >= upper { return false }
        }
        return true
    }
}

/// One change the EM service makes on the host.
public enum MitigationAction: Hashable, Sendable {
    /// Changes nothing; the heartbeat.
    case doNothing(description: String?)
    /// Adds an IIS URL Rewrite rule at server level or on one site.
    case iisUrlRewrite(UrlRewrite, description: String?)
    /// Stops and disables a Windows service.
    case disableService(String, description: String?)
    /// Stops and disables an IIS application pool.
    case disableAppPool(String, description: String?)

    /// The `type` name used in rule files and in the feed.
    public var typeName: String {
        switch self {
        case .doNothing: Self.doNothingType
        case .iisUrlRewrite: Self.iisUrlRewriteType
        case .disableService: Self.disableServiceType
        case .disableAppPool: Self.disableAppPoolType
        }
    }

    public var description: String? {
        switch self {
        case .doNothing(let description), .iisUrlRewrite(_, let description),
             .disableService(_, let description), .disableAppPool(_, let description):
            description
        }
    }

    public static let doNothingType = "DoNothing"
    public static let iisUrlRewriteType = "IISUrlRewrite"
    public static let disableServiceType = "DisableService"
    public static let disableAppPoolType = "DisableAppPool"
    public static let typeNames = [doNothingType, iisUrlRewriteType, disableServiceType, disableAppPoolType]
}

/// An IIS URL Rewrite rule and where it is placed.
public struct UrlRewrite: Hashable, Sendable {
    public enum Scope: String, CaseIterable, Codable, Sendable {
        /// applicationHost.config, every site.
        case server = "Server"
        /// One site's web.config.
        case site = "Site"
    }

    public var scope: Scope
    /// The IIS site name; required for `Site` scope, absent for `Server`.
    public var site: String?
    public var rule: Rule

    public init(scope: Scope, site: String?, rule: Rule) {
        self.scope = scope
        self.site = site
        self.rule = rule
    }

    /// The rewrite rule: requests whose `input` server variable matches `pattern` get `action`.
    public struct Rule: Hashable, Sendable {
        public var name: String
        public var input: String
        public var pattern: String
        public var action: String

        public init(name: String, input: String, pattern: String, action: String) {
            self.name = name
            self.input = input
            self.pattern = pattern
            self.action = action
        }

        /// IIS rewrite actions a mitigation may use. Only `AbortRequest` (drop the connection):
        /// it blocks without needing further parameters and never sends traffic elsewhere.
        public static let actions = ["AbortRequest"]
    }
}
