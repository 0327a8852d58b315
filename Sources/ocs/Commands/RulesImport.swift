import ArgumentParser
import Foundation
import OCSDomain
import OCSRuleFiles
import OCSStorage

/// `ocs rules import PATH`: validates, then writes every rule or none.
struct RulesImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Validate rule files, then create or replace those rules in one transaction."
    )

    @Argument(help: "A rule file or a folder of *.yaml rule files.")
    var path: String

    @Flag(help: "Publish every imported rule's latest revision, whatever its file says; needs --to GROUPS or --everyone.")
    var publish = false

    @OptionGroup var release: ReleaseOptions
    @OptionGroup var reason: ReasonOption
    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        if publish && release.release == nil {
            throw ValidationError("--publish needs --to GROUPS (only those host groups receive the rules) or --everyone (every host does)")
        }
    }

    func run() throws {
        let files: RuleFileSet
        do {
            let validator = RuleValidator(catalog: try database.catalogInEffect())
            files = try RuleFileSet.load(path, decoder: RuleDocumentDecoder(validator: validator))
        } catch let error as RuleFilesInvalid {
            FileHandle.standardError.write(Data((error.description + "\nnothing was imported\n").utf8))
            throw ExitCode.failure
        }
        RuleWarnings.print(files.warnings)
        let summary: RuleStore.ImportSummary
        do {
            summary = try RuleStore(database: try database.open()).importRules(files.rules, publish: publish, release: release.release, context: reason.context)
        } catch {
            throw CommandFailure("nothing was imported: \(error)")
        }
        print("imported \(files.entries.count) rules: \(summary.created.count) created, \(summary.updated.count) updated, \(summary.unchanged.count) unchanged")
    }
}
