import ArgumentParser
import Foundation
import OCSRuleFiles

/// `ocs rules validate PATH`: checks rule files without touching a database.
struct RulesValidate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check rule files; print every problem as file:line: message."
    )

    @Argument(help: "A rule file or a folder of *.yaml rule files.")
    var path = "Rules"

    func run() throws {
        do {
            let files = try RuleFileSet.load(path)
            print("\(files.entries.count) rule\(files.entries.count == 1 ? "" : "s") valid in \(path)")
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode.failure
        }
    }
}
