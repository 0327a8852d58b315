/// The fleet at a glance, for the first look during an incident: how many hosts, how many went
/// quiet, what they run (per product, CU and update, named from the catalog), who is behind on
/// updates, and each published rule's coverage. Built from counts a store aggregates, never from
/// every host.
public struct FleetSummary: Codable, Sendable, Equatable {
    public struct Hosts: Codable, Sendable, Equatable {
        public var total: Int
        /// Not polled within the stale-after time.
        public var stale: Int
        /// Reported no build.
        public var unknownBuild: Int
        /// On a CU branch the catalog lists, below its newest update.
        public var notOnNewestUpdate: Int
        /// Enrolled: what they report came from polls carrying their credential.
        public var verified: Int

        public init(total: Int, stale: Int, unknownBuild: Int, notOnNewestUpdate: Int, verified: Int = 0) {
            self.total = total
            self.stale = stale
            self.unknownBuild = unknownBuild
            self.notOnNewestUpdate = notOnNewestUpdate
            self.verified = verified
        }
    }

    public struct ProductCount: Codable, Sendable, Equatable {
        public let product: ExchangeProduct
        public let hosts: Int
    }

    /// A CU branch: `cumulativeUpdate` is the catalog's name (`CU12`), or `unlisted 15.2.1999`.
    public struct CumulativeUpdateCount: Codable, Sendable, Equatable {
        public let product: ExchangeProduct
        public let cumulativeUpdate: String
        public let hosts: Int
        /// The branch's newest build in the catalog and its name; nil for an unlisted branch.
        public let newestBuild: String?
        public let newestName: String?
        public let notOnNewestUpdate: Int
    }

    /// One build: `name` as `ocs builds describe` gives it, `update` nil for a CU's own build.
    public struct BuildCount: Codable, Sendable, Equatable {
        public let build: String
        public let name: String
        public let product: ExchangeProduct?
        public let cumulativeUpdate: String?
        public let update: String?
        public let hosts: Int
        /// Whether it is its branch's newest build in the catalog; nil for an unlisted branch.
        public let newestOnBranch: Bool?

        /// `hosts` reporting the build `text`, named by `catalog`; one that is not an Exchange build
        /// is named by its text.
        public init(text: String, hosts: Int, catalog: BuildCatalog) {
            guard let build = try? ExchangeBuild(parsing: text), let product = ExchangeProduct(build: build) else {
                self.init(build: text, name: text, product: nil, cumulativeUpdate: nil, update: nil, hosts: hosts, newestOnBranch: nil)
                return
            }
            let newest = catalog.newestBuild(on: build.branch)
            self.init(
                build: build.description, name: catalog.describe(build), product: product, cumulativeUpdate: catalog.cumulativeUpdate(of: build.branch)?.cumulativeUpdate,
                update: catalog.entry(for: build)?.update, hosts: hosts, newestOnBranch: newest.map { build >= $0.build }
            )
        }

        init(build: String, name: String, product: ExchangeProduct?, cumulativeUpdate: String?, update: String?, hosts: Int, newestOnBranch: Bool?) {
            self.build = build
            self.name = name
            self.product = product
            self.cumulativeUpdate = cumulativeUpdate
            self.update = update
            self.hosts = hosts
            self.newestOnBranch = newestOnBranch
        }
    }

    /// What a bounded list left out: how many entries, holding how many hosts.
    public struct Unlisted: Codable, Sendable, Equatable {
        public let entries: Int
        public let hosts: Int
    }

    public let staleAfterSeconds: Int
    public var hosts: Hosts
    public let products: [ProductCount]
    /// At most `maximumListed`, those with the most hosts; the rest are counted in `unlistedCumulativeUpdates`.
    public let cumulativeUpdates: [CumulativeUpdateCount]
    public let unlistedCumulativeUpdates: Unlisted?
    /// At most `maximumListed`, those with the most hosts; the rest are counted in `unlistedBuilds`.
    public let builds: [BuildCount]
    public let unlistedBuilds: Unlisted?
    public var rules: [RuleCoverage]

    /// Most builds, and most CU branches, a summary lists: a real estate reports a few dozen;
    /// made-up builds (anyone can poll) must not grow every view of the fleet.
    public static let maximumListed = 100

    /// Summarizes hosts counted per reported build (`hostsByBuild`), `total` and `stale` of them.
    public init(
        total: Int, stale: Int, hostsByBuild: [(build: String, hosts: Int)], rules: [RuleCoverage],
        staleAfterSeconds: Int, catalog: BuildCatalog
    ) {
        struct Branch { var product: ExchangeProduct; var name: String; var hosts = 0; var behind = 0; var newest: BuildCatalog.Entry? }
        var byProduct: [ExchangeProduct: Int] = [:]
        var byBranch: [ExchangeBuild.Branch: Branch] = [:]
        var builds: [(ExchangeBuild?, BuildCount)] = []
        var known = 0
        var behind = 0
        for (text, hosts) in hostsByBuild {
            known += hosts
            guard let build = try? ExchangeBuild(parsing: text), let product = ExchangeProduct(build: build) else {
                builds.append((nil, BuildCount(text: text, hosts: hosts, catalog: catalog)))
                continue
            }
            byProduct[product, default: 0] += hosts
            let cu = catalog.cumulativeUpdate(of: build.branch)
            let newest = catalog.newestBuild(on: build.branch)
            let isBehind = newest.map { build < $0.build } ?? false
            if isBehind { behind += hosts }
            var branch = byBranch[build.branch] ?? Branch(product: product, name: cu?.cumulativeUpdate ?? "unlisted \(build.branch)", newest: newest)
            branch.hosts += hosts
            if isBehind { branch.behind += hosts }
            byBranch[build.branch] = branch
            builds.append((build, BuildCount(text: text, hosts: hosts, catalog: catalog)))
        }
        self.staleAfterSeconds = staleAfterSeconds
        self.hosts = Hosts(total: total, stale: stale, unknownBuild: total - known, notOnNewestUpdate: behind)
        products = byProduct.keys.sorted().map { ProductCount(product: $0, hosts: byProduct[$0]!) }
        let branches = byBranch.keys.sorted().map { key in
            let branch = byBranch[key]!
            return CumulativeUpdateCount(
                product: branch.product, cumulativeUpdate: branch.name, hosts: branch.hosts,
                newestBuild: branch.newest?.build.description, newestName: branch.newest?.name, notOnNewestUpdate: branch.behind
            )
        }
        (cumulativeUpdates, unlistedCumulativeUpdates) = Self.bounded(branches, hosts: \.hosts)
        let sortedBuilds = builds.sorted { lhs, rhs in
            switch (lhs.0, rhs.0) {
            case let (left?, right?): left < right
            case (nil, nil): lhs.1.build < rhs.1.build
            case (nil, _): false
            case (_, nil): true
            }
        }.map(\.1)
        (self.builds, unlistedBuilds) = Self.bounded(sortedBuilds, hosts: \.hosts)
        self.rules = rules
    }

    /// The `maximumListed` entries with the most hosts, in their given order, and what was left out.
    static func bounded<Entry>(_ entries: [Entry], hosts: (Entry) -> Int) -> ([Entry], Unlisted?) {
        guard entries.count > maximumListed else { return (entries, nil) }
        // Most hosts first; among equals, the earlier entry.
        let byHosts = entries.indices.sorted { lhs, rhs in
            hosts(entries[lhs]) != hosts(entries[rhs]) ? hosts(entries[lhs]) > hosts(entries[rhs]) : lhs < rhs
        }
        let kept = Set(byHosts.prefix(maximumListed))
        let listed = entries.indices.filter(kept.contains).map { entries[$0] }
        let left = entries.indices.filter { !kept.contains($0) }
        return (listed, Unlisted(entries: left.count, hosts: left.reduce(0) { $0 + hosts(entries[$1]) }))
    }
}
