import ArgumentParser
import Foundation
import OCSRuleFiles
import OCSStorage

/// `ocs rules export DIR`: the rules as YAML files that re-import to the same content.
struct RulesExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write every rule's latest revision as DIR/ID.yaml; importing the folder again changes nothing.",
        discussion: "A rule whose latest revision awaits publishing is written with state: draft, so a re-import leaves its published revision serving."
    )

    @Argument(help: "The folder to write; created if missing. Files of the same names are replaced.")
    var dir: String

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let store = RuleStore(database: try database.open())
        let folder = URL(fileURLWithPath: dir, isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw CommandFailure("cannot create \(dir): \(error.localizedDescription)")
        }
        var count = 0
        for record in try store.all() {
            guard var rule = try store.revisions(id: record.rule.id).last?.rule else { continue }
            rule.state = record.latestRevision == record.revision ? record.rule.state : .draft
            let file = folder.appendingPathComponent("\(rule.id).yaml")
            do {
                try Data(try RuleDocumentEncoder().yaml(for: rule).utf8).write(to: file, options: .atomic)
            } catch {
                throw CommandFailure("cannot write \(file.path): \(error.localizedDescription)")
            }
            count += 1
        }
        print("exported \(count) rules to \(dir)")
    }
}
