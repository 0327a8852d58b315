import Foundation
import OCSTestSupport
import Testing

/// A disconnected site, end to end with two real `ocs` instances: the central one exports a
/// bundle of its signed feeds; the site's imports it against the pinned certificate and serves
/// those documents byte for byte holding no key; the site's check-ins, exported in a file signed
/// by the site's key, appear in the central coverage, marked with the site. Altered, foreign,
/// replayed and older files are refused and change nothing.
@Suite("Disconnected sites, end to end", .serialized)
struct DisconnectedSiteEndToEndTests {
    static let serverID = "6f1d2c3b-0a4e-4b5c-9d8e-7f6a5b4c3d2e"

    /// The signed documents inside a bundle file, read as a test reads a file: the payload's JSON.
    static func documents(in file: String) throws -> [(configs: [String], body: Data)] {
        let envelope = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any]
        let payload = try #require((envelope?["payload"] as? String).flatMap { Data(base64Encoded: $0) })
        let bundle = try JSONSerialization.jsonObject(with: payload) as? [String: Any]
        let documents = try #require(bundle?["documents"] as? [[String: Any]])
        return documents.compactMap { document in
            guard let configs = document["configs"] as? [String], let body = (document["body"] as? String).flatMap({ Data(base64Encoded: $0) }) else { return nil }
            return (configs, body)
        }
    }

    func poll(_ server: ServerProcess, applied: String) throws -> CurlResponse {
        try Curl.request(server.baseURL + "/getexchangemitigations?build=15.2.1118.7&serverId=\(Self.serverID)&server=EXSITE1&applied=\(applied)")
    }

    @Test func aBundleIsServedVerbatimBySiteWithNoKeyAndItsCheckInsReachTheCentralCoverage() throws {
        let central = try Workspace()
        let signing = try central.signingArguments()
        let centralCert = central.folder.appendingPathComponent("keys/signing-cert.pem").path
        let centralServer = try central.startServer(signing)
        centralServer.stop()
        let bundle = central.folder.appendingPathComponent("site.bundle").path
        let exported = try central.ocs(["bundle", "export", "--out", bundle, "--db", central.database] + signing)
        #expect(exported.status == 0 && exported.output.hasPrefix("wrote "), "\(exported.stderr)")

        // The site: imports against the pinned certificate and serves with no key.
        let site = try Workspace()
        let firstWithoutPin = try site.ocs("bundle", "import", bundle, "--db", site.database)
        #expect(firstWithoutPin.status != 0 && firstWithoutPin.stderr.contains("--cert"), "\(firstWithoutPin.stderr)")
        let imported = try site.ocs("bundle", "import", bundle, "--cert", centralCert, "--db", site.database)
        #expect(imported.status == 0 && imported.output.hasPrefix("serving: "), "\(imported.stderr)")
        let siteServer = try site.startServer("--check-ins", "any")
        defer { siteServer.stop() }
        let served = try poll(siteServer, applied: "M1")
        #expect(served.status == 200)
        let documents = try Self.documents(in: bundle)
        #expect(documents.contains { $0.body == served.body }, "the site serves a document of the bundle, byte for byte")
        // The independent judge verifies it against the central certificate; the site made no key.
        let servedFile = try site.write(String(decoding: served.body, as: UTF8.self), to: "served.xml")
        let judged = try Command.run("xmlsec1", ["--verify", "--enabled-key-data", "x509", "--trusted-pem", centralCert, servedFile])
        #expect(judged.status == 0, "\(judged.stderr)")
        let verified = try site.ocs("verify", servedFile, "--cert", centralCert)
        #expect(verified.status == 0 && verified.output.contains("configs M1,PING1"), "\(verified.output)\(verified.stderr)")
        let printed = try site.ocs("feed", "--build", "15.2.1118.7", "--server", "EXSITE1", "--db", site.database)
        #expect(printed.status == 0 && printed.output == served.text, "ocs feed prints the document the site serves: \(printed.stderr)")
        let siteFiles = try FileManager.default.contentsOfDirectory(atPath: site.folder.appendingPathComponent("data").path)
        #expect(!siteFiles.contains { $0.contains("key") }, "\(siteFiles)")
        let ready = try Curl.request(siteServer.baseURL + "/readyz")
        #expect(ready.status == 200, "\(ready.text)")

        // The site's check-ins, in a file signed by the site's own key, reach the central coverage.
        let siteKeys = site.folder.appendingPathComponent("site-keys").path
        #expect(try site.ocs("keys", "init", "--dir", siteKeys, "--common-name", "ocs site lab").status == 0)
        let checkIns = site.folder.appendingPathComponent("check-ins.json").path
        let export = { () throws -> CommandResult in
            try site.ocs("hosts", "export", "--out", checkIns, "--signing-key", siteKeys + "/signing-key.pem", "--signing-cert", siteKeys + "/signing-cert.pem", "--db", site.database)
        }
        let written = try export()
        #expect(written.status == 0 && written.output.contains("1 hosts"), "\(written.output)\(written.stderr)")
        let recorded = try central.ocs("hosts", "import", "--ocs", checkIns, "--site", "lab", "--cert", siteKeys + "/signing-cert.pem", "--json", "--db", central.database)
        #expect(recorded.status == 0 && recorded.output.contains("\"added\""), "\(recorded.output)\(recorded.stderr)")
        let hosts = try central.ocs("hosts", "list", "--json", "--db", central.database)
        let list = try #require(try JSONSerialization.jsonObject(with: Data(hosts.output.utf8)) as? [[String: Any]], "\(hosts.output)")
        let host = try #require(list.first { $0["serverId"] as? String == Self.serverID })
        #expect(host["site"] as? String == "lab" && host["siteExportedAt"] is String && host["applied"] as? [String] == ["M1"], "\(host)")
        let coverage = try central.ocs("rules", "coverage", "M1", "--db", central.database)
        #expect(coverage.output.contains("M1 "), "\(coverage.output)")
        let row = try #require(coverage.output.split(separator: "\n").first { $0.hasPrefix("M1 ") })
        #expect(row.split(separator: " ", omittingEmptySubsequences: true).prefix(5).map(String.init) == ["M1", "1", "1", "1", "1"], "hosts, in scope, applied: \(row)")

        // Replayed: the same file again is refused and changes nothing.
        let replayed = try central.ocs("hosts", "import", "--ocs", checkIns, "--site", "lab", "--db", central.database)
        #expect(replayed.status != 0 && replayed.stderr.contains("not after the last file"), "\(replayed.stderr)")
        // Altered: one character of its payload, and the signature no longer verifies.
        var text = try String(contentsOfFile: checkIns, encoding: .utf8)
        let start = try #require(text.range(of: "\"payload\":\"")).upperBound
        let index = text.index(start, offsetBy: 60)
        text.replaceSubrange(index...index, with: text[index] == "A" ? "B" : "A")
        let altered = try site.write(text, to: "altered.json")
        let refused = try central.ocs("hosts", "import", "--ocs", altered, "--site", "lab", "--db", central.database)
        #expect(refused.status != 0 && refused.stderr.contains("does not verify"), "\(refused.stderr)")
        // Forged: a well-formed file claiming the host unprotected, signed by an outsider's key.
        _ = try poll(siteServer, applied: "")
        let outsider = site.folder.appendingPathComponent("outsider-keys").path
        #expect(try site.ocs("keys", "init", "--dir", outsider).status == 0)
        let forged = site.folder.appendingPathComponent("forged.json").path
        #expect(try site.ocs("hosts", "export", "--out", forged, "--signing-key", outsider + "/signing-key.pem", "--signing-cert", outsider + "/signing-cert.pem", "--db", site.database).status == 0)
        let forgery = try central.ocs("hosts", "import", "--ocs", forged, "--site", "lab", "--db", central.database)
        #expect(forgery.status != 0 && forgery.stderr.contains("not by the pinned"), "\(forgery.stderr)")
        let unchanged = try central.ocs("hosts", "show", Self.serverID, "--json", "--db", central.database)
        #expect(unchanged.output.contains("\"M1\""), "the forged and altered files changed nothing: \(unchanged.output)")
    }

    @Test func aNewerBundleIsServedAndAnOlderOrForeignOneIsRefused() throws {
        let central = try Workspace()
        let signing = try central.signingArguments()
        let centralCert = central.folder.appendingPathComponent("keys/signing-cert.pem").path
        try central.startServer(signing).stop()
        let first = central.folder.appendingPathComponent("first.bundle").path
        #expect(try central.ocs(["bundle", "export", "--out", first, "--db", central.database] + signing).status == 0)
        try central.publishRuleForEveryBuild("EXTRA1", description: "a new emergency mitigation", file: "extra.yaml")
        let second = central.folder.appendingPathComponent("second.bundle").path
        #expect(try central.ocs(["bundle", "export", "--out", second, "--db", central.database] + signing).status == 0)

        let site = try Workspace()
        #expect(try site.ocs("bundle", "import", first, "--cert", centralCert, "--db", site.database).status == 0)
        let server = try site.startServer()
        defer { server.stop() }
        #expect(!(try poll(server, applied: "").text.contains("EXTRA1")))
        // Imported while the site serves: served within a second of its import, with the new rule.
        #expect(try site.ocs("bundle", "import", second, "--db", site.database).status == 0)
        var served = ""
        for _ in 0..<40 where !served.contains("EXTRA1") {
            Thread.sleep(forTimeInterval: 0.1)
            served = try poll(server, applied: "").text
        }
        #expect(served.contains("id=\"EXTRA1\""), "\(served)")

        // The older bundle again: refused, the newer one stays served.
        let older = try site.ocs("bundle", "import", first, "--db", site.database)
        #expect(older.status != 0 && older.stderr.contains("lower than the served bundle"), "\(older.stderr)")
        // A bundle an outsider signed with a key of its own: refused, even with the outsider's certificate unless repinned.
        let outsider = try Workspace()
        let outsiderSigning = try outsider.signingArguments()
        try outsider.startServer(outsiderSigning).stop()
        let foreign = outsider.folder.appendingPathComponent("foreign.bundle").path
        #expect(try outsider.ocs(["bundle", "export", "--out", foreign, "--db", outsider.database] + outsiderSigning).status == 0)
        let refused = try site.ocs("bundle", "import", foreign, "--db", site.database)
        #expect(refused.status != 0 && refused.stderr.contains("not by the pinned"), "\(refused.stderr)")
        let otherCert = try site.ocs("bundle", "import", foreign, "--cert", outsider.folder.appendingPathComponent("keys/signing-cert.pem").path, "--db", site.database)
        #expect(otherCert.status != 0 && otherCert.stderr.contains("--repin"), "\(otherCert.stderr)")
        #expect(try poll(server, applied: "").text.contains("id=\"EXTRA1\""))
        let shown = try site.ocs("bundle", "show", "--db", site.database)
        #expect(shown.output.contains("EXTRA1"), "\(shown.output)")
    }
}
