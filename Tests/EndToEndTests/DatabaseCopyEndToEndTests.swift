import Foundation
import OCSTestSupport
import Testing

/// `ocs db copy`: an installation on SQLite moved to PostgreSQL answers the same afterwards, and
/// a PostgreSQL database in use is never copied into.
struct DatabaseCopyEndToEndTests {
    static let build = "15.2.1544.4"

    @Test func aCopiedInstallationAnswersTheSameOnPostgres() throws {
        let workspace = try Workspace()
        let sqlite = try workspace.startServer()
        let created = try workspace.ocs("tokens", "create", "--name", "alice", "--role", "publisher", "--db", workspace.database)
        #expect(created.status == 0, "\(created.stderr)")
        let token = created.output.trimmingCharacters(in: .whitespacesAndNewlines)
        for host in 1...3 {
            let poll = try Curl.request(sqlite.baseURL + "/getexchangemitigations?build=\(Self.build)&serverid=%7B00000000-0000-4000-8000-00000000000\(host)%7D&servername=EX0\(host)")
            #expect(poll.status == 200)
        }
        // The newest host forgotten: its id must not be given again after the move.
        let forgotten = try workspace.ocs("hosts", "forget", "00000000-0000-4000-8000-000000000003", "--db", workspace.database)
        #expect(forgotten.status == 0, "\(forgotten.stderr)")
        let api = ["-H", "Authorization: Bearer \(token)", "-H", "Content-Type: application/json"]
        let rule = #"{"id": "MOVED", "description": "published before the move", "actions": [{"type": "DisableService", "service": "MSExchangeTest"}]}"#
        #expect(try Curl.request(sqlite.baseURL + "/api/v1/rules/MOVED", ["-X", "PUT", "--data-binary", rule] + api).status == 201)
        #expect(try Curl.request(sqlite.baseURL + "/api/v1/rules/MOVED/publish", ["-X", "POST", "--data-binary", #"{"everyone": true}"#] + api).status == 200)
        let paths = ["/api/v1/rules", "/api/v1/rules/MOVED/revisions", "/api/v1/hosts", "/api/v1/audit", "/api/v1/rules/MOVED/coverage"]
        let before = try paths.map { try Curl.request(sqlite.baseURL + $0, api).text }
        let feedBefore = try Curl.request(sqlite.baseURL + "/getexchangemitigations?build=\(Self.build)")
        sqlite.stop()

        let target = try TestDatabase.createPostgresDatabase().description
        let copied = try workspace.ocs("db", "copy", "--db", workspace.database, "--to", target)
        #expect(copied.status == 0, "\(copied.stderr)")
        #expect(copied.output.contains("hosts               2") && copied.output.contains("verified"), "\(copied.output)")

        let data = workspace.folder.appendingPathComponent("data").path
        let postgres = try ServerProcess(database: target, arguments: ["--signing-key", data + "/dev-signing-key.pem", "--signing-cert", data + "/dev-signing-cert.pem"])
        defer { postgres.stop() }
        let after = try paths.map { try Curl.request(postgres.baseURL + $0, api).text }
        for (path, (old, new)) in zip(paths, zip(before, after)) {
            #expect(old == new, "\(path) answers differently after the copy")
        }
        let feedAfter = try Curl.request(postgres.baseURL + "/getexchangemitigations?build=\(Self.build)")
        #expect(feedAfter.body == feedBefore.body, "the same serial, issued time and key sign the same bytes")
        #expect(feedAfter.header("ETag") == feedBefore.header("ETag"))

        // Ids go on after the copied ones: a new host and a new revision are recorded.
        let newHost = try Curl.request(postgres.baseURL + "/getexchangemitigations?build=\(Self.build)&serverid=%7B00000000-0000-4000-8000-000000000004%7D&servername=EX04")
        #expect(newHost.status == 200)
        let edited = #"{"id": "MOVED", "description": "edited after the move", "actions": [{"type": "DisableService", "service": "MSExchangeTest"}]}"#
        #expect(try Curl.request(postgres.baseURL + "/api/v1/rules/MOVED", ["-X", "PUT", "--data-binary", edited, "-H", "If-Match: \"1\""] + api).status == 200)
        let hosts = try workspace.ocs("hosts", "--db", target)
        #expect(hosts.output.contains("00000000-0000-4000-8000-000000000004"), "\(hosts.output)")
        let newID = try Command.run("psql", [target, "--no-psqlrc", "--tuples-only", "--no-align", "--command", "SELECT id FROM hosts WHERE lower(server_id) LIKE '%000000000004%'"])
        #expect(newID.output.trimmingCharacters(in: .whitespacesAndNewlines) == "4", "ids go on after the largest SQLite gave, the forgotten host's 3 included: \(newID.output) \(newID.stderr)")

        // A database in use is refused, and left as it was.
        let again = try workspace.ocs("db", "copy", "--db", workspace.database, "--to", target)
        #expect(again.status != 0)
        #expect(again.stderr.contains("is not empty") && again.stderr.contains("nothing was copied"), "\(again.stderr)")
        #expect(try workspace.ocs("hosts", "--db", target).output == hosts.output)
    }

    @Test func copiesOnlyFromSQLiteIntoPostgres() throws {
        let workspace = try Workspace()
        try workspace.createDatabase()
        let intoSQLite = try workspace.ocs("db", "copy", "--db", workspace.database, "--to", "sqlite:/tmp/elsewhere.sqlite")
        #expect(intoSQLite.status != 0)
        #expect(intoSQLite.stderr.contains("copies into a PostgreSQL database"), "\(intoSQLite.stderr)")
        let fromPostgres = try workspace.ocs("db", "copy", "--db", "postgres://ocs@127.0.0.1:1/ocs", "--to", "postgres://ocs@127.0.0.1:1/other")
        #expect(fromPostgres.status != 0)
        #expect(fromPostgres.stderr.contains("copies an SQLite database"), "\(fromPostgres.stderr)")
    }
}
