import Foundation
import OCSStorage
import OCSTestSupport

/// A scratch folder with a database path and a copy of the shipped rules, removed when done.
final class Workspace {
    let folder: URL
    var database: String { folder.appendingPathComponent("data/ocs.sqlite").path }
    var rules: String { folder.appendingPathComponent("Rules").path }

    static let shippedRules = URL(fileURLWithPath: #filePath).appendingPathComponent("../../../Rules").standardized

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("ocs-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.shippedRules, to: URL(fileURLWithPath: rules))
    }

    /// Creates the (empty, migrated) database, as a first `ocs serve` would: the other commands
    /// refuse to create one.
    @discardableResult
    func createDatabase() throws -> String {
        _ = try OCSDatabase(path: database)
        return database
    }

    /// `ocs serve` on this workspace's database, importing its rules on first start.
    /// Starts `ocs serve` on this workspace's database and rules, with `arguments` added.
    func startServer(_ arguments: String...) throws -> ServerProcess {
        try startServer(arguments)
    }

    func startServer(_ arguments: [String]) throws -> ServerProcess {
        try ServerProcess(database: database, arguments: ["--rules", rules] + arguments)
    }

    /// A signing key and certificate made by `ocs keys init` in `keys/`, as `ocs serve` takes them:
    /// replicas on one PostgreSQL database must all be given the same.
    func signingArguments() throws -> [String] {
        let keys = folder.appendingPathComponent("keys").path
        let made = try ocs("keys", "init", "--dir", keys)
        guard made.status == 0 else { throw CommandFailedError(message: made.stderr) }
        return ["--signing-key", keys + "/signing-key.pem", "--signing-cert", keys + "/signing-cert.pem"]
    }

    /// Writes a rule `id` that disables an app pool on every build to `file` and publishes it to
    /// everyone with `ocs rules import` (another process than any server running).
    @discardableResult
    func publishRuleForEveryBuild(_ id: String, description: String, file: String) throws -> String {
        let path = try write("""
            id: \(id)
            description: \(description)
            state: published
            actions:
              - type: DisableAppPool
                appPool: MSExchangeExtraAppPool
            """, to: file)
        let imported = try ocs("rules", "import", path, "--publish", "--everyone", "--db", database)
        guard imported.status == 0 else { throw CommandFailedError(message: imported.stderr) }
        return path
    }

    /// Runs `ocs` with `arguments`.
    func ocs(_ arguments: String...) throws -> CommandResult {
        try ocs(arguments)
    }

    func ocs(_ arguments: [String]) throws -> CommandResult {
        try Command.run(Command.ocs, arguments)
    }

    func write(_ text: String, to name: String) throws -> String {
        let url = folder.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    deinit { try? FileManager.default.removeItem(at: folder) }
}
