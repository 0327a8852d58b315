import Foundation
import PackagePlugin

/// Embeds the package's SQL migrations into the target that uses this plugin, so the installed
/// `ocs` binary migrates its database from any working directory: `Migrations/*.sql` (SQLite) for
/// every target but OCSPostgres, which gets `Migrations/postgres/*.sql` (the same ids for PostgreSQL).
@main
struct EmbedMigrations: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let folder = target.name == "OCSPostgres"
            ? context.package.directoryURL.appending(path: "Migrations/postgres")
            : context.package.directoryURL.appending(path: "Migrations")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path(percentEncoded: false))
            .filter { $0.hasSuffix(".sql") }
            .sorted()
        let inputs = names.map { folder.appending(path: $0) }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedMigrations.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(names.count) SQL migrations for \(target.name)",
                executable: try context.tool(named: "MigrationEmbedder").url,
                arguments: [output.path(percentEncoded: false)] + inputs.map { $0.path(percentEncoded: false) },
                inputFiles: inputs,
                outputFiles: [output]
            ),
        ]
    }
}
