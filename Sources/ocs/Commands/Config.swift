import ArgumentParser

/// `ocs config`: the settings `ocs serve` would run with.
struct Config: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the settings ocs serve would run with, and where each comes from.",
        subcommands: [ConfigShow.self]
    )
}

/// `ocs config show [serve options]`: each setting, its value and its source.
struct ConfigShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print the effective settings: command line over OCS_* environment variables over --config over defaults.",
        discussion: """
            Takes the options of ocs serve. Settings hold no secrets (keys are named by file path; API \
            tokens are stored hashed in the database), so every value is shown.
            """
    )

    @OptionGroup var options: ServeOptions

    func run() throws {
        var reader = try options.database.settings()
        _ = try ServeSettings(options, &reader)
        var rows = [["configFile", reader.configFile ?? "-", reader.configFile == nil ? "" : "command line or OCS_CONFIG"]]
        rows += reader.resolved.map { [$0.setting.key, $0.value ?? "-", $0.value == nil ? "" : $0.source.rawValue] }
        print(TextTable(header: ["SETTING", "VALUE", "FROM"], rows: rows).rendered, terminator: "")
    }
}
