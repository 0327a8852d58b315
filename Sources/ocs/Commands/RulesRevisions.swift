import ArgumentParser
import Foundation
import OCSStorage

/// `ocs rules revisions ID`: a rule's history.
struct RulesRevisions: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revisions", abstract: "List a rule's revisions.")

    @Argument(help: "The rule id.")
    var id: String

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let store = RuleStore(database: try database.open())
        guard let record = try store.record(id: id) else {
            throw CommandFailure.noSuchRule(id)
        }
        let rows = try store.revisions(id: id).map { revision in
            let marks = [revision.revision == record.revision ? record.rule.state.rawValue : nil,
                         revision.revision == record.latestRevision && revision.revision != record.revision ? "latest" : nil]
            return ["\(revision.revision)", revision.createdAt.formatted(.iso8601), revision.author,
                    marks.compactMap { $0 }.joined(separator: ", "), revision.rule.description]
        }
        print(TextTable(header: ["REVISION", "CREATED", "AUTHOR", "STATUS", "DESCRIPTION"], rows: rows).rendered, terminator: "")
    }
}
