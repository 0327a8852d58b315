import ArgumentParser
import OCSDomain
import OCSStorage

/// `ocs rules list`: one line per rule.
struct RulesList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the rules in the database.")

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let records = try RuleStore(database: try database.open()).all()
        let rows = records.map { record in
            let rule = record.rule
            let revision = record.latestRevision == record.revision ? "\(record.revision)" : "\(record.revision) (\(record.latestRevision) pending)"
            return [rule.id, rule.state.rawValue, revision, record.release.map { "\($0)" } ?? "-", Self.scope(of: rule), rule.description]
        }
        print(TextTable(header: ["ID", "STATE", "REVISION", "RELEASED TO", "APPLIES TO", "DESCRIPTION"], rows: rows).rendered, terminator: "")
    }

    static func scope(of rule: Mitigation) -> String {
        guard let applies = rule.applies else { return "every build" }
        let products = applies.products?.map(\.rawValue).joined(separator: ",") ?? "every product"
        switch applies.narrowing {
        case nil: return products
        case .fixedBy(let update): return "\(products) until \(update)"
        case .ranges(let ranges): return "\(products) in \(ranges.count) range\(ranges.count == 1 ? "" : "s")"
        }
    }
}
