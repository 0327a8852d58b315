import Foundation
import NIOHTTP1
import OCSDomain
import OCSOperations
import OCSRuleFiles
import OCSStorage

extension AdminAPI {
    /// `GET /api/v1/builds[?product=P][&cu=CU]`: one page of the catalog in effect.
    func listBuilds(_ query: [String: String]) throws -> HTTPResponse {
        let filter: BuildsFilter
        do {
            filter = try BuildsFilter(product: query["product"], cu: query["cu"])
        } catch {
            return Self.error(.badRequest, error.description)
        }
        let page = try catalogs.list(product: filter.product, cu: filter.cu, page: try Self.page(query, .builds))
        return Self.ok(PageView(page, BuildView.init))
    }

    /// `POST /api/v1/builds[?emergency=true&reason=R]` with one row `{"product", "cu", "update",
    /// "build", "released"}` or a list of them: all added or none; `201` when some were added,
    /// `200` when all were listed. Refusals (`422` per row, `403` under require-approval) are the
    /// operation's.
    func addBuilds(_ request: HTTPRequest, query: [String: String], caller: APIToken, context: ChangeContext) throws -> HTTPResponse {
        let emergency: Bool
        switch query["emergency"] {
        case nil, "false": emergency = false
        case "true": emergency = true
        case let other?: return Self.error(.badRequest, "emergency '\(other.prefix(40))' is not true or false")
        }
        let rows = try Self.catalogRows(try Self.jsonBody(request, required: true) ?? .null)
        let result = try operations.builds.add(rows, context: context, role: caller.role, emergency: emergency)
        return Self.json(result.added.isEmpty ? .ok : .created, BuildsAddedView(result))
    }

    /// The rows of a body: an object or a list of objects with exactly the catalog's fields, as
    /// text; a `422` naming each malformed item otherwise.
    static func catalogRows(_ body: JSONValue) throws(APIInputError) -> [(line: Int?, row: CatalogRowInput)] {
        func refuse(_ problems: [ProblemView]) -> APIInputError { APIInputError(response: Self.problems(.unprocessableEntity, problems)) }
        let fields: Set<String> = ["product", "cu", "update", "build", "released"]
        let form = "expected {\"product\": \"Exchange2019\", \"cu\": \"CU15\", \"update\": \"Nov26SU\", \"build\": \"15.2.1748.45\", \"released\": \"2026-11\"} or a list of them (update absent or null for a CU's own build)"
        let objects: [(field: String, line: Int?, value: JSONValue)]
        if let list = body.array {
            guard !list.isEmpty else { throw refuse([ProblemView(field: "", message: "the list is empty: \(form)")]) }
            guard list.count <= PageRequest.maximumLimit else {
                throw refuse([ProblemView(field: "", message: "the list holds \(list.count) builds: send at most \(PageRequest.maximumLimit) at a time")])
            }
            objects = list.enumerated().map { ("[\($0.offset)]", $0.offset + 1, $0.element) }
        } else {
            objects = [("", nil, body)]
        }
        var rows: [(line: Int?, row: CatalogRowInput)] = []
        var problems: [ProblemView] = []
        for (field, line, value) in objects {
            guard let object = value.object, Set(object.keys).isSubset(of: fields),
                  let product = object["product"]?.string, let cu = object["cu"]?.string,
                  let build = object["build"]?.string, let released = object["released"]?.string,
                  object["update"] == nil || object["update"] == .null || object["update"]?.string != nil
            else {
                problems.append(ProblemView(field: field, message: form))
                continue
            }
            rows.append((line, CatalogRowInput(product: product, cu: cu, update: object["update"]?.string, build: build, released: released)))
        }
        guard problems.isEmpty else { throw refuse(problems) }
        return rows
    }
}
