import Foundation
import OCSDomain

/// The build catalog in effect: the one compiled into the binary plus the rows added to the
/// database (`catalog_builds`), which every process reads, so a new update needs no rebuild.
public struct CatalogStore: Sendable {
    let database: any SQLDatabase
    /// The catalog compiled into the binary, under the added rows.
    public let base: BuildCatalog

    public static let addAction = "catalog.add"

    public init(database: any SQLDatabase, base: BuildCatalog = .embedded) {
        self.database = database
        self.base = base
    }

    /// The catalog in effect now.
    public func catalog() throws -> BuildCatalog {
        try database.read { db in try Self.catalog(base, in: db) }
    }

    /// `base` plus the added rows, read inside a caller's transaction (one snapshot with what
    /// else it reads: the published rules, hosts).
    static func catalog(_ base: BuildCatalog, in db: any SQLTransaction) throws -> BuildCatalog {
        base.adding(try added(db).map(\.entry))
    }

    /// One catalog row, where it comes from (`embedded` or `added`), and who added it when.
    public struct Row: Sendable, Equatable {
        public let entry: BuildCatalog.Entry
        public let addedAt: Date?
        public let addedBy: String?

        public var source: String { addedAt == nil ? "embedded" : "added" }
    }

    /// The rows added to the database, in the order they were added.
    static func added(_ db: any SQLTransaction) throws -> [Row] {
        try db.rows("SELECT * FROM catalog_builds ORDER BY id").map { row in
            let product: String = try row["product"]
            let build: String = try row["build"]
            let released: String = try row["released"]
            guard let parsedProduct = ExchangeProduct(rawValue: product), let parsedBuild = try? ExchangeBuild(parsing: build),
                  let parsedReleased = ReleaseDate(parsing: released)
            else { throw StorageError.corruptCatalog(build: build) }
            let entry = BuildCatalog.Entry(
                product: parsedProduct, cumulativeUpdate: try row["cu"], update: try row["update_name"], build: parsedBuild, released: parsedReleased
            )
            return Row(entry: entry, addedAt: try row["added_at"] as Date, addedBy: try row["added_by"])
        }
    }

    /// One page of the catalog in effect, ordered by build (so by product, then CU), optionally
    /// one product's rows or one CU's (`CU15`, with `product`; without it, that CU of every product).
    public func list(product: ExchangeProduct? = nil, cu: String? = nil, page: PageRequest = PageRequest()) throws -> Page<Row> {
        let (added, catalog) = try database.read { db in
            let added = try Self.added(db)
            return (added, base.adding(added.map(\.entry)))
        }
        let addedByBuild = Dictionary(added.map { ($0.entry.build, $0) }, uniquingKeysWith: { first, _ in first })
        let after = page.cursor?.key ?? -1
        let rows = catalog.entries
            .filter { (product == nil || $0.product == product) && (cu == nil || $0.cumulativeUpdate == cu) }
            .map { (key: CatalogAddition.listKey($0), entry: $0) }
            .filter { $0.key > after }
            .sorted { $0.key < $1.key }
            .prefix(page.limit + 1)
            .map { keyed in
                let origin = addedByBuild[keyed.entry.build].flatMap { $0.entry == keyed.entry ? $0 : nil }
                return (key: keyed.key, row: Row(entry: keyed.entry, addedAt: origin?.addedAt, addedBy: origin?.addedBy))
            }
        return Page(reading: rows, limit: page.limit, kind: .builds, key: \.key).map(\.row)
    }

    /// What `add` did.
    public struct AddResult: Sendable, Equatable {
        /// Rows added, in order.
        public let added: [BuildCatalog.Entry]
        /// Rows given that the catalog listed already, exactly so.
        public let unchanged: Int
        /// True when some published rule now applies to other builds, so the serial was raised.
        public let serialRaised: Bool
    }

    /// Validates `rows` against the catalog in effect and adds them in one transaction, all or
    /// none, each with an audit entry; raises the serial when what a published rule applies to
    /// changes, so every feed is rendered again with the new catalog. Such an addition changes
    /// which hosts rules reach, as a publish does: with require-approval on it is refused
    /// (`needsApproval`) unless `emergency` (whose caller the operation has judged).
    public func add(_ rows: [(line: Int?, row: CatalogRowInput)], context: ChangeContext, emergency: Bool = false) throws(CatalogChangeError) -> AddResult {
        let time = Date()
        do {
            return try database.write { db in
                let before = try Self.catalog(base, in: db)
                let added: [BuildCatalog.Entry]
                switch CatalogAddition.validate(rows, against: before) {
                case .success(let entries): added = entries
                case .failure(let invalid): throw CatalogChangeError.invalid(invalid.problems)
                }
                let changed = added.isEmpty ? [] : try Self.publishedRulesChanged(before: before, after: before.adding(added), in: db)
                let underApproval = try !changed.isEmpty && ChangeStore.requiresApproval(db)
                if underApproval && !emergency { throw CatalogChangeError.needsApproval(rules: changed) }
                for entry in added {
                    try db.execute(
                        "INSERT INTO catalog_builds (product, cu, update_name, build, released, added_at, added_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [entry.product.rawValue, entry.cumulativeUpdate, entry.update, entry.build.description,
                                    entry.released.description, DatabaseTimestamp(time), context.actor]
                    )
                    try AuditLog.append(AuditEntry(
                        time: time, context: context, action: Self.addAction, ruleID: nil, revision: nil,
                        outcome: "ok: \(entry.catalogName.canonical) \(entry.build) released \(entry.released)"
                            + (underApproval ? ", emergency: changes published rules \(changed.joined(separator: ", "))" : "")
                    ), in: db)
                }
                let raised = !changed.isEmpty
                if raised {
                    // The feed_state trigger of migration 0017 moves `issued_at` with the serial.
                    try db.execute("UPDATE feed_state SET serial = serial + 1 WHERE id = 1")
                }
                return AddResult(added: added, unchanged: rows.count - added.count, serialRaised: raised)
            }
        } catch let error as CatalogChangeError {
            throw error
        } catch {
            throw .storage("\(error)")
        }
    }

    /// The published rules (ids, in order) that apply to a different set of builds under `after`:
    /// judged on every build either catalog lists and every build a host reported, which are all
    /// the builds the feed, coverage and the fleet view ever judge by the catalog.
    static func publishedRulesChanged(before: BuildCatalog, after: BuildCatalog, in db: any SQLTransaction) throws -> [String] {
        let rules = try db.rows("SELECT id, content FROM rules WHERE state = 'published' ORDER BY id").map { row in
            try RuleStore.decode(try row["content"], id: try row["id"])
        }
        let dependent = rules.filter { $0.applies?.dependsOnCatalog == true }
        guard !dependent.isEmpty else { return [] }
        let builds = Set(after.entries.map(\.build)).union(try reportedBuilds(db))
        return dependent.filter { rule in
            guard let applies = rule.applies else { return false }
            return builds.contains { applies.includes($0, catalog: before) != applies.includes($0, catalog: after) }
        }.map(\.id)
    }
}

extension CatalogStore {
    /// The builds the catalog lists and those hosts reported: every build the feed, coverage and
    /// the fleet view judge, so the builds a bundle of feeds is signed for.
    public func knownBuilds() throws -> [ExchangeBuild] {
        try database.read { db in
            let catalog = try Self.catalog(base, in: db)
            return Array(Set(catalog.entries.map(\.build)).union(try Self.reportedBuilds(db))).sorted()
        }
    }

    /// Every distinct build hosts reported.
    static func reportedBuilds(_ db: any SQLTransaction) throws -> Set<ExchangeBuild> {
        Set(try db.values(String.self, "SELECT DISTINCT build FROM hosts WHERE build IS NOT NULL").compactMap { try? ExchangeBuild(parsing: $0) })
    }
}

extension Applicability {
    /// True when the catalog takes part in judging it: a fixing update, CUs or a named bound.
    var dependsOnCatalog: Bool {
        if cumulativeUpdates != nil { return true }
        switch narrowing {
        case nil: return false
        case .fixedBy: return true
        case .ranges(let ranges):
            return ranges.contains { range in
                [range.from, range.until].contains { if case .name? = $0 { true } else { false } }
            }
        }
    }
}

/// Why a catalog change was refused: every row's problem, require-approval, or the database.
public enum CatalogChangeError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalid([CatalogProblem])
    /// Require-approval is on and the rows change which builds these published rules apply to.
    case needsApproval(rules: [String])
    case storage(String)

    public var description: String {
        switch self {
        case .invalid(let problems): problems.map(\.description).joined(separator: "\n")
        case .needsApproval(let rules):
            "require-approval is on and these builds change which builds published rules apply to (\(rules.joined(separator: ", "))): only an admin may add them, alone, as an emergency with a reason"
        case .storage(let message): "the database failed: \(message)"
        }
    }
}
