/// A build someone asks to add to the catalog, as given: every field still text, so that one
/// place (`CatalogAddition.validate`) judges the command line, a CSV file and the API alike.
public struct CatalogRowInput: Sendable, Hashable, Codable {
    public var product: String
    public var cu: String
    /// Nil or empty: the CU's own build.
    public var update: String?
    public var build: String
    public var released: String

    public init(product: String, cu: String, update: String?, build: String, released: String) {
        self.product = product
        self.cu = cu
        self.update = update
        self.build = build
        self.released = released
    }
}

/// A catalog row refused, with its CSV line when it came from a file.
public struct CatalogProblem: Error, Sendable, Hashable, CustomStringConvertible {
    /// The CSV line (the header is line 1), or the item's position (1-based) in a list; nil for one row.
    public let line: Int?
    public let message: String

    public init(line: Int?, message: String) {
        self.line = line
        self.message = message
    }

    public var description: String { line.map { "line \($0): \(message)" } ?? message }
}

/// Every refused row of one request or file.
public struct CatalogRowsInvalid: Error, Sendable, Equatable, CustomStringConvertible {
    public let problems: [CatalogProblem]

    public init(problems: [CatalogProblem]) {
        self.problems = problems
    }

    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

/// Why one row is refused.
struct RowRefusal: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// Checks rows to add on top of a catalog: a known product whose builds the build belongs to,
/// well-formed names, a new CU on a branch no row is on and in its product's CU order (by build
/// and by release date), an update on its CU's branch above the CU's build and in release order
/// there, and no clash with a row already listed.
public enum CatalogAddition {
    /// The columns of the catalog CSV, in order.
    public static let header = "product,cu,update,build,released"

    /// Largest build and revision part an added row may have: keeps list keys exact (`listKey`).
    static let largestPart: UInt32 = (1 << 27) - 1

    /// The rows to add (rows already listed exactly as given are left out), or every problem.
    /// Rows are judged in order against `catalog` plus the rows before them, so one file can add
    /// a CU and then its updates.
    public static func validate(_ rows: [(line: Int?, row: CatalogRowInput)], against catalog: BuildCatalog) -> Result<[BuildCatalog.Entry], CatalogRowsInvalid> {
        var working = catalog
        var added: [BuildCatalog.Entry] = []
        var problems: [CatalogProblem] = []
        for (line, row) in rows {
            switch entry(row, against: working) {
            case .success(let entry?):
                added.append(entry)
                working = working.adding([entry])
            case .success(nil):
                continue
            case .failure(let refusal):
                problems.append(CatalogProblem(line: line, message: refusal.message))
            }
        }
        return problems.isEmpty ? .success(added) : .failure(CatalogRowsInvalid(problems: problems))
    }

    /// Parses a catalog CSV (header `product,cu,update,build,released`) into rows with their lines.
    public static func rows(csv: String) -> Result<[(line: Int?, row: CatalogRowInput)], CatalogRowsInvalid> {
        var rows: [(line: Int?, row: CatalogRowInput)] = []
        var problems: [CatalogProblem] = []
        for (index, rawLine) in csv.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if index == 0 {
                if line != header { problems.append(CatalogProblem(line: 1, message: "the header must be \(header)")) }
                continue
            }
            if line.isEmpty { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 5 else {
                problems.append(CatalogProblem(line: index + 1, message: "expected 5 fields (\(header)), found \(fields.count)"))
                continue
            }
            rows.append((index + 1, CatalogRowInput(product: fields[0], cu: fields[1], update: fields[2], build: fields[3], released: fields[4])))
        }
        if rows.isEmpty && problems.isEmpty { problems.append(CatalogProblem(line: nil, message: "the file lists no builds")) }
        return problems.isEmpty ? .success(rows) : .failure(CatalogRowsInvalid(problems: problems))
    }

    /// The entry a row adds, nil when the catalog lists it already exactly so, or why it is refused.
    static func entry(_ row: CatalogRowInput, against catalog: BuildCatalog) -> Result<BuildCatalog.Entry?, RowRefusal> {
        guard let product = ExchangeProduct(rawValue: row.product) ?? ExchangeProduct.allCases.first(where: { $0.displayName == row.product }) else {
            return .failure(RowRefusal("unknown product '\(row.product.prefix(40))': use \(ExchangeProduct.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        guard CatalogNaming.isCumulativeUpdate(row.cu) else {
            return .failure(RowRefusal("cu '\(row.cu.prefix(40))' is not well-formed: use \(CatalogNaming.cumulativeUpdateForm)"))
        }
        let update = row.update.flatMap { $0.isEmpty ? nil : $0 }
        if let update, !CatalogNaming.isUpdate(update) {
            return .failure(RowRefusal("update '\(update.prefix(40))' is not well-formed: use \(CatalogNaming.updateForm)"))
        }
        let build: ExchangeBuild
        do { build = try ExchangeBuild(parsing: row.build) } catch { return .failure(RowRefusal(error.description)) }
        guard ExchangeProduct(build: build) == product else {
            let actual = ExchangeProduct(build: build).map { "an \($0.rawValue) build" } ?? "not an Exchange 2016, 2019 or SE build"
            return .failure(RowRefusal("build \(build) is \(actual), not \(product.rawValue) (2016 is 15.1; 2019 is 15.2 below 15.2.2562; SE from 15.2.2562)"))
        }
        guard build.build <= largestPart, build.revision <= largestPart else {
            return .failure(RowRefusal("build \(build) has a part above \(largestPart)"))
        }
        guard let released = ReleaseDate(parsing: row.released) else {
            return .failure(RowRefusal("released '\(row.released.prefix(40))' is not a date like 2026-11 or 2026-11-10"))
        }
        let entry = BuildCatalog.Entry(product: product, cumulativeUpdate: row.cu, update: update, build: build, released: released)
        if let existing = catalog.entry(named: entry.catalogName) {
            if existing.build == build { return .success(Optional<BuildCatalog.Entry>.none) }
            return .failure(RowRefusal("\(entry.catalogName.canonical) is already in the catalog as \(existing.build), not \(build)"))
        }
        if let existing = catalog.entry(for: build) {
            return .failure(RowRefusal("build \(build) is already in the catalog as \(existing.catalogName.canonical)"))
        }
        guard let update else {
            if let onBranch = catalog.newestBuild(on: build.branch) {
                return .failure(RowRefusal("branch \(build.branch) is already \(onBranch.product.rawValue) \(onBranch.cumulativeUpdate): a new CU has a build number of its own"))
            }
            if let refusal = outOfOrder(entry, in: catalog) { return .failure(refusal) }
            return .success(entry)
        }
        guard let cu = catalog.entry(named: CatalogName(product: product, cumulativeUpdate: row.cu, update: nil)) else {
            return .failure(RowRefusal("\(product.rawValue) \(row.cu) is not in the catalog: add the CU's own build first"))
        }
        guard cu.build.branch == build.branch else {
            return .failure(RowRefusal("build \(build) is not on \(product.rawValue) \(row.cu)'s branch \(cu.build.branch): an update keeps its CU's first three numbers"))
        }
        guard build.revision > cu.build.revision else {
            return .failure(RowRefusal("build \(build) is not above \(product.rawValue) \(row.cu)'s own build \(cu.build)"))
        }
        let branch = catalog.entries.filter { $0.build.branch == build.branch && $0.update != nil }
        if let earlier = branch.first(where: { $0.build < build && $0.released.monthIndex > released.monthIndex }) {
            return .failure(RowRefusal("\(update) (\(released)) would come after \(earlier.update ?? "") \(earlier.build) (\(earlier.released)) on \(product.rawValue) \(row.cu) but is dated before it"))
        }
        if let later = branch.first(where: { $0.build > build && $0.released.monthIndex < released.monthIndex }) {
            return .failure(RowRefusal("\(update) (\(released)) would come before \(later.update ?? "") \(later.build) (\(later.released)) on \(product.rawValue) \(row.cu) but is dated after it"))
        }
        return .success(entry)
    }

    /// A new CU goes where its number puts it among its product's CUs: its build above every lower
    /// CU's and below every higher one's, and its release not before a lower one's nor after a
    /// higher one's (by month, as releases are dated). Nil when it does; else the refusal, naming
    /// the CUs it would have to come between and those it conflicts with.
    static func outOfOrder(_ entry: BuildCatalog.Entry, in catalog: BuildCatalog) -> RowRefusal? {
        guard let number = CatalogNaming.cumulativeUpdateNumber(entry.cumulativeUpdate) else { return nil }
        let others = catalog.entries.filter { $0.product == entry.product && $0.update == nil }.compactMap { other in
            CatalogNaming.cumulativeUpdateNumber(other.cumulativeUpdate).map { (number: $0, entry: other) }
        }
        let lower = others.filter { $0.number < number }.sorted { $0.number < $1.number }
        let higher = others.filter { $0.number > number }.sorted { $0.number < $1.number }
        let conflicts = lower.filter { $0.entry.build >= entry.build || $0.entry.released.monthIndex > entry.released.monthIndex }
            + higher.filter { $0.entry.build <= entry.build || $0.entry.released.monthIndex < entry.released.monthIndex }
        guard !conflicts.isEmpty else { return nil }
        func named(_ other: BuildCatalog.Entry) -> String { "\(other.cumulativeUpdate) (\(other.build), \(other.released))" }
        let place = [lower.last.map { "after " + named($0.entry) }, higher.first.map { "before " + named($0.entry) }].compactMap { $0 }
        return RowRefusal(
            "\(entry.product.rawValue) \(entry.cumulativeUpdate) at \(entry.build) released \(entry.released) is out of CU order: "
                + "it must come \(place.joined(separator: " and ")) by build and by release date, but conflicts with "
                + conflicts.map(\.entry.cumulativeUpdate).joined(separator: ", ")
        )
    }

    /// The key a catalog list is ordered and paged by: the build's parts, then CU before update
    /// (a CU and an update can share a build). Exact for 15.x builds with parts up to `largestPart`.
    public static func listKey(_ entry: BuildCatalog.Entry) -> Int64 {
        let build = entry.build
        let packed = Int64(build.minor & 7) << 54 | Int64(build.build & largestPart) << 27 | Int64(build.revision & largestPart)
        return packed << 1 | (entry.update == nil ? 0 : 1)
    }
}
