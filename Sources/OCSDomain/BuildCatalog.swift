/// The catalog of Exchange 2016 / 2019 / SE cumulative updates and the updates released on each.
///
/// `BuildCatalog.embedded` is built from `Catalog/exchange-builds.csv`, compiled into the binary.
public struct BuildCatalog: Sendable, Equatable {
    /// One row of the catalog: a CU's own build (`update == nil`) or an update on top of it.
    public struct Entry: Hashable, Sendable {
        public let product: ExchangeProduct
        public let cumulativeUpdate: String
        public let update: String?
        public let build: ExchangeBuild
        public let released: ReleaseDate

        /// `Exchange 2019 CU12 Oct22SU`, or `Exchange 2019 CU12` for the CU's own build.
        public var name: String {
            [product.displayName, cumulativeUpdate, update].compactMap { $0 }.joined(separator: " ")
        }

        /// The name rules use for this row: `Exchange2019 CU12 Oct22SU`.
        public var catalogName: CatalogName {
            CatalogName(product: product, cumulativeUpdate: cumulativeUpdate, update: update)
        }

        public init(product: ExchangeProduct, cumulativeUpdate: String, update: String?, build: ExchangeBuild, released: ReleaseDate) {
            self.product = product
            self.cumulativeUpdate = cumulativeUpdate
            self.update = update
            self.build = build
            self.released = released
        }
    }

    public let entries: [Entry]
    private let cumulativeUpdatesByBranch: [ExchangeBuild.Branch: Entry]
    private let entriesByBuild: [ExchangeBuild: Entry]
    private let newestByBranch: [ExchangeBuild.Branch: Entry]
    private let entriesByName: [CatalogName: Entry]

    public init(entries: [Entry]) {
        self.entries = entries
        var byBranch: [ExchangeBuild.Branch: Entry] = [:]
        var byBuild: [ExchangeBuild: Entry] = [:]
        var newest: [ExchangeBuild.Branch: Entry] = [:]
        var byName: [CatalogName: Entry] = [:]
        for entry in entries {
            if byName[entry.catalogName] == nil { byName[entry.catalogName] = entry }
            if newest[entry.build.branch].map({ $0.build < entry.build }) ?? true { newest[entry.build.branch] = entry }
            if entry.update == nil, byBranch[entry.build.branch] == nil { byBranch[entry.build.branch] = entry }
            // A CU and an update can share one build (2016 CU12 and Feb19SU): the first row names it.
            if byBuild[entry.build] == nil { byBuild[entry.build] = entry }
        }
        cumulativeUpdatesByBranch = byBranch
        entriesByBuild = byBuild
        newestByBranch = newest
        entriesByName = byName
    }

    /// Equal when they list the same rows in the same order (the lookup tables follow from them).
    public static func == (lhs: BuildCatalog, rhs: BuildCatalog) -> Bool {
        lhs.entries == rhs.entries
    }

    /// This catalog with `added` rows after its own (rows added to the database at run time).
    public func adding(_ added: [Entry]) -> BuildCatalog {
        added.isEmpty ? self : BuildCatalog(entries: entries + added)
    }

    /// Parses the catalog CSV: `product,cu,update,build,released`, with a header line.
    public init(csv: String) throws(CatalogError) {
        var entries: [Entry] = []
        for (index, rawLine) in csv.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if index == 0 || line.isEmpty { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 5 else { throw CatalogError(line: index + 1, message: "expected 5 fields, found \(fields.count)") }
            guard let product = ExchangeProduct(rawValue: fields[0]) else {
                throw CatalogError(line: index + 1, message: "unknown product '\(fields[0])'")
            }
            let build: ExchangeBuild
            do { build = try ExchangeBuild(parsing: fields[3]) } catch {
                throw CatalogError(line: index + 1, message: error.description)
            }
            guard let released = ReleaseDate(parsing: fields[4]) else {
                throw CatalogError(line: index + 1, message: "invalid release date '\(fields[4])'")
            }
            entries.append(Entry(
                product: product, cumulativeUpdate: fields[1], update: fields[2].isEmpty ? nil : fields[2],
                build: build, released: released
            ))
        }
        self.init(entries: entries)
    }

    /// The catalog compiled into this binary.
    public static let embedded: BuildCatalog = {
        do {
            return try BuildCatalog(csv: String(decoding: PackageResources.exchange_builds_csv, as: UTF8.self))
        } catch {
            // The CSV is part of the source tree and covered by tests; a broken copy is a build defect.
            fatalError("embedded build catalog is invalid: \(error)")
        }
    }()

    /// The CU whose branch the build is on, if the catalog lists it.
    public func cumulativeUpdate(of branch: ExchangeBuild.Branch) -> Entry? {
        cumulativeUpdatesByBranch[branch]
    }

    /// The newest build the catalog lists on a CU branch (its latest update, else the CU itself).
    public func newestBuild(on branch: ExchangeBuild.Branch) -> Entry? {
        newestByBranch[branch]
    }

    /// The catalog row for exactly this build.
    public func entry(for build: ExchangeBuild) -> Entry? {
        entriesByBuild[build]
    }

    /// The row a catalog name stands for: a CU's own build, or an update on that CU.
    public func entry(named name: CatalogName) -> Entry? {
        entriesByName[name]
    }

    /// Every row of an update with this name (one per CU branch it shipped for).
    public func updates(named name: String) -> [Entry] {
        entries.filter { $0.update == name }
    }

    /// True when some row carries this update name, e.g. `Oct22SU`.
    public func knowsUpdate(named name: String) -> Bool {
        entries.contains { $0.update == name }
    }

    /// The CUs of a product (their own builds), oldest first.
    public func cumulativeUpdates(of product: ExchangeProduct) -> [Entry] {
        entries.filter { $0.product == product && $0.update == nil }.sorted { $0.build < $1.build }
    }

    /// Names a build: `Exchange 2019 CU12 Oct22SU`; `Exchange 2019 CU12 (unlisted build 15.2.1118.16)`
    /// for an unknown revision of a known CU; `Exchange 2019 (unlisted build 15.2.1300.1)` otherwise.
    public func describe(_ build: ExchangeBuild) -> String {
        if let entry = entry(for: build) { return entry.name }
        if let cu = cumulativeUpdate(of: build.branch) {
            return "\(cu.product.displayName) \(cu.cumulativeUpdate) (unlisted build \(build))"
        }
        if let product = ExchangeProduct(build: build) {
            return "\(product.displayName) (unlisted build \(build))"
        }
        return "not an Exchange 2016, 2019 or SE build (\(build))"
    }
}

/// A malformed line in a catalog CSV.
public struct CatalogError: Error, Sendable, CustomStringConvertible {
    public let line: Int
    public let message: String
    public var description: String { "catalog line \(line): \(message)" }
}

/// A release date as the catalog gives it: a day for CUs (`2022-04-20`), a month for updates (`2022-10`).
public struct ReleaseDate: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int?

    public init?(parsing text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3,
              let year = Int(parts[0]), let month = Int(parts[1]), (1...12).contains(month)
        else { return nil }
        var day: Int?
        if parts.count == 3 {
            guard let parsed = Int(parts[2]), (1...31).contains(parsed) else { return nil }
            day = parsed
        }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Month precision: updates are dated by month only, so finer comparison would be invented.
    public var monthIndex: Int { year * 12 + (month - 1) }

    public static func < (lhs: ReleaseDate, rhs: ReleaseDate) -> Bool {
        (lhs.year, lhs.month, lhs.day ?? 0) < (rhs.year, rhs.month, rhs.day ?? 0)
    }

    public var description: String {
        let monthText = month < 10 ? "0\(month)" : "\(month)"
        guard let day else { return "\(year)-\(monthText)" }
        return "\(year)-\(monthText)-\(day < 10 ? "0\(day)" : "\(day)")"
    }
}
