import ArgumentParser

/// `ocs rules`: validate, import and inspect mitigation rules.
struct Rules: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate, import, publish and inspect mitigation rules.",
        subcommands: [
            RulesValidate.self, RulesImport.self, RulesExport.self, RulesList.self, RulesShow.self,
            RulesRevisions.self, RulesDiff.self, RulesPublish.self, RulesPromote.self, RulesRetire.self, RulesCoverage.self,
        ]
    )
}
