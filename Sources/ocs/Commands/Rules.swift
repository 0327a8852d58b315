import ArgumentParser

/// `ocs rules`: validate, import and inspect mitigation rules.
struct Rules: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate, import and inspect mitigation rules.",
        subcommands: [RulesValidate.self, RulesImport.self, RulesList.self, RulesShow.self]
    )
}
