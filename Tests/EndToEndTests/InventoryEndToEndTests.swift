import Foundation
import OCSTestSupport
import Testing

/// Get-ExchangeServer reports through the real binary: curl posts Microsoft's export with a
/// reporter token, which can do nothing else; a hostile file is refused with 422 and records nothing.
struct InventoryEndToEndTests {
    struct Reported: Decodable {
        struct Server: Decodable {
            let name: String
            let serverId: String?
            let result: String
        }
        let added: Int
        let updated: Int
        let skipped: Int
        let servers: [Server]
    }

    static func post(_ server: ServerProcess, token: String, file: String) throws -> CurlResponse {
        try Curl.request(server.baseURL + "/api/v1/inventory", [
            "-X", "POST", "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: application/xml", "--data-binary", "@" + file,
        ])
    }

    @Test func aReporterTokenPostsAnExportAndCanDoNothingElse() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        let reporter = try workspace.ocs("tokens", "create", "--name", "inventory", "--role", "reporter", "--db", workspace.database).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let reader = try workspace.ocs("tokens", "create", "--name", "bob", "--role", "reader", "--db", workspace.database).output
            .trimmingCharacters(in: .whitespacesAndNewlines)

        let posted = try Self.post(server, token: reporter, file: RepositoryFixtures.exchange2016Export.path)
        #expect(posted.status == 200, "\(posted.text)")
        let reported = try JSONDecoder().decode(Reported.self, from: posted.body)
        #expect(reported.added == 2 && reported.servers.map(\.name) == ["E2k16-1", "E2k16-2"])
        #expect(try JSONDecoder().decode(Reported.self, from: Self.post(server, token: reporter, file: RepositoryFixtures.exchange2016Export.path).body).updated == 2)

        // Reporting is all it may do: it reads nothing, signs in to nothing.
        let read = try Curl.request(server.baseURL + "/api/v1/hosts", ["-H", "Authorization: Bearer \(reporter)"])
        #expect(read.status == 403 && read.text.contains("has role reporter; this needs reader"))
        // A reader may read, not report.
        let readerPost = try Self.post(server, token: reader, file: RepositoryFixtures.exchange2019Export.path)
        #expect(readerPost.status == 403 && readerPost.text.contains("this needs reporter, publisher or admin"))
        let hosts = try Curl.request(server.baseURL + "/api/v1/hosts", ["-H", "Authorization: Bearer \(reader)"])
        #expect(hosts.status == 200 && hosts.text.replacingOccurrences(of: " ", with: "").contains("\"source\":\"inventory\""), "\(hosts.text)")

        // A hostile file: 422 naming the object and property; nothing of it recorded.
        var text = try String(contentsOf: RepositoryFixtures.exchange2019Export, encoding: .utf8)
        text = text.replacingOccurrences(of: "<S N=\"Name\">SOLO-E19A</S>", with: "<S N=\"Name\">SOLO-E19A'; Remove-Item C:\\</S>")
        let hostile = try workspace.write(text, to: "hostile.xml")
        let refused = try Self.post(server, token: reporter, file: hostile)
        #expect(refused.status == 422 && refused.text.contains("object 1, property Name"), "\(refused.text)")
        let doctype = try workspace.write("<!DOCTYPE Objs [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><Objs>&x;</Objs>", to: "doctype.xml")
        let entity = try Self.post(server, token: reporter, file: doctype)
        #expect(entity.status == 422 && entity.text.contains("a DOCTYPE"))
        let listed = try workspace.ocs("hosts", "--json", "--db", workspace.database)
        #expect(!listed.output.contains("SOLO-E19A") && listed.output.contains("E2k16-2"))
        let audit = try workspace.ocs("audit", "--db", workspace.database).output
        #expect(audit.contains("hosts.inventory") && audit.contains("refused: object 1, property Name") && audit.contains("refused: 403"))
    }

    @Test func theCommandLineImportsBothExportsAndCoverageFollowsTheirBuilds() throws {
        let workspace = try Workspace()
        // A first start makes the database with the starter rules.
        _ = try workspace.startServer().stop()
        for file in [RepositoryFixtures.exchange2019Export, RepositoryFixtures.exchange2016Export] {
            let imported = try workspace.ocs("hosts", "import", "--exchange", file.path, "--reason", "INV-1", "--db", workspace.database)
            #expect(imported.status == 0, "\(imported.stderr)")
        }
        let coverage = try workspace.ocs("rules", "coverage", "M1", "--json", "--db", workspace.database)
        #expect(coverage.output.replacingOccurrences(of: " ", with: "").contains("\"exposed\":1"), "\(coverage.output)")
        let exposed = try workspace.ocs("rules", "coverage", "M1", "--state", "exposed", "--db", workspace.database).output
        #expect(exposed.contains("SOLO-E19A (inventory)") && !exposed.contains("E2k16"))

        let broken = try workspace.write("<Objs xmlns=\"http://schemas.microsoft.com/powershell/2004/04\"><Obj>", to: "broken.xml")
        let refused = try workspace.ocs("hosts", "import", "--exchange", broken, "--db", workspace.database)
        #expect(refused.status != 0 && refused.stderr.contains("broken.xml: nothing recorded: not a CliXml export"), "\(refused.stderr)")
    }
}
