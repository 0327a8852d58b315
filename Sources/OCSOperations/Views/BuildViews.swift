import Foundation
import OCSDomain
import OCSStorage

/// A catalog row as the API and `ocs builds list --json` show it.
public struct BuildView: Encodable, Sendable {
    public let name: String
    public let product: String
    public let cu: String
    public let update: String?
    public let build: String
    public let released: String
    /// `embedded` (compiled into the binary) or `added` (in the database).
    public let source: String
    public let addedAt: Date?
    public let addedBy: String?

    public init(_ row: CatalogStore.Row) {
        name = row.entry.catalogName.canonical
        product = row.entry.product.rawValue
        cu = row.entry.cumulativeUpdate
        update = row.entry.update
        build = row.entry.build.description
        released = row.entry.released.description
        source = row.source
        addedAt = row.addedAt
        addedBy = row.addedBy
    }
}

/// What `POST /api/v1/builds` and `ocs builds add` did.
public struct BuildsAddedView: Encodable, Sendable {
    public let added: [String]
    public let unchanged: Int
    public let serialRaised: Bool

    public init(_ result: CatalogStore.AddResult) {
        added = result.added.map { "\($0.catalogName.canonical) \($0.build)" }
        unchanged = result.unchanged
        serialRaised = result.serialRaised
    }
}

/// `?product=` and `?cu=` of a catalog list, checked.
public struct BuildsFilter: Sendable {
    public let product: ExchangeProduct?
    public let cu: String?

    /// Nil product or CU: every one. A product as `Exchange2019` or `Exchange 2019`.
    public init(product: String?, cu: String?) throws(CatalogRowsInvalid) {
        var parsed: ExchangeProduct?
        if let product {
            guard let known = ExchangeProduct(rawValue: product) ?? ExchangeProduct.allCases.first(where: { $0.displayName == product }) else {
                throw CatalogRowsInvalid(problems: [CatalogProblem(line: nil, message: "product '\(product.prefix(40))' is not one of \(ExchangeProduct.allCases.map(\.rawValue).joined(separator: ", "))")])
            }
            parsed = known
        }
        if let cu, !CatalogNaming.isCumulativeUpdate(cu) {
            throw CatalogRowsInvalid(problems: [CatalogProblem(line: nil, message: "cu '\(cu.prefix(40))' is not well-formed: use \(CatalogNaming.cumulativeUpdateForm)")])
        }
        self.product = parsed
        self.cu = cu
    }
}
