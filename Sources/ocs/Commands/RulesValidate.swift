import ArgumentParser
import Foundation
import OCSDomain
import OCSRuleFiles

/// `ocs rules validate PATH`: checks rule files, naming builds by the catalog in effect (the
/// database's, when there is one); changes nothing.
struct RulesValidate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check rule files; print every problem as file:line: message."
    )

    @Argument(help: "A rule file or a folder of *.yaml rule files.")
    var path = "Rules"

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let validator = RuleValidator(catalog: try database.catalogInEffect())
        do {
            let files = try RuleFileSet.load(path, decoder: RuleDocumentDecoder(validator: validator))
            RuleWarnings.print(files.warnings)
            print("\(files.entries.count) rule\(files.entries.count == 1 ? "" : "s") valid in \(path)"
                + (files.warnings.isEmpty ? "" : ", \(files.warnings.count) warning\(files.warnings.count == 1 ? "" : "s"): such rules are refused at publish"))
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode.failure
        }
    }
}

/// Warnings of rule files, one per line on standard error: `file:line: warning: field: message`.
enum RuleWarnings {
    static func print(_ warnings: [RuleFileProblem]) {
        for warning in warnings {
            let text = "\(warning.file):\(warning.line): warning: " + (warning.field.isEmpty ? warning.message : "\(warning.field): \(warning.message)")
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }
}
