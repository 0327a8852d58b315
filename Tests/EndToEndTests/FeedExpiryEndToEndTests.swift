import Foundation
import OCSTestSupport
import Testing

/// Expiring feeds through the real binary: the served feed carries `expires` (signing time plus
/// `--feed-validity`), and `ocs verify` refuses it once that has passed.
struct FeedExpiryEndToEndTests {
    /// The `expires` attribute of a served document, by a regular expression over the bytes.
    static func expires(in document: String) throws -> String {
        let match = try #require(document.firstMatch(of: /<EOCS expires="([^"]*)"/), "no expires in \(document.prefix(200))")
        return String(match.1)
    }

    @Test func theServedFeedExpiresItsValidityAfterSigningAndVerifyRefusesItAfterThat() throws {
        let workspace = try Workspace()
        let before = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let server = try ServerProcess(database: workspace.database, arguments: ["--rules", workspace.rules, "--feed-validity", "300"])
        defer { server.stop() }
        let response = try Curl.request(server.baseURL + "/getexchangemitigations?build=15.2.1118.7")
        let after = Date()
        #expect(response.status == 200)
        let expires = try Self.expires(in: response.text)
        let expiry = try Date(expires, strategy: .iso8601)
        #expect(expiry >= before + 300 && expiry <= after + 300, "signed between \(before) and \(after), valid 300 s: \(expires)")

        let cert = workspace.folder.appendingPathComponent("data/dev-signing-cert.pem").path
        #expect(try XMLSec.verify(response.body, trusting: cert).status == 0, "expires is an attribute the signature covers")
        let file = try workspace.write(response.text, to: "feed.xml")
        let verified = try workspace.ocs("verify", file, "--cert", cert)
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(verified.output.contains(", expires \(expires), configs M1,PING1,"), "\(verified.output)")
        let justBefore = (expiry - 1).formatted(.iso8601)
        #expect(try workspace.ocs("verify", file, "--cert", cert, "--at", justBefore).status == 0)

        let late = (expiry + 86400).formatted(.iso8601)
        let refused = try workspace.ocs("verify", file, "--cert", cert, "--at", late)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("\(file): not verified: feed expired at \(expires) (now \(late)): fetch a fresh feed"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1, "one line: \(refused.stderr)")

        // Moving the expiry later breaks the signature.
        let extended = response.text.replacingOccurrences(of: "expires=\"\(expires)\"", with: "expires=\"2099-01-01T00:00:00Z\"")
        let forged = try workspace.ocs("verify", try workspace.write(extended, to: "extended.xml"), "--cert", cert, "--at", late)
        #expect(forged.status != 0)
        #expect(forged.stderr.contains("the digest does not match"), "\(forged.stderr)")
    }

    @Test func theValidityComesFromEveryPlaceAndIsBounded() throws {
        let workspace = try Workspace()
        let file = try workspace.write("feedValidity: 3600\n", to: "ocs.yaml")
        let shown = try workspace.ocs("config", "show", "--config", file)
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.output.split(separator: "\n").contains { $0.split(separator: " ").prefix(2) == ["feedValidity", "3600"] }, "\(shown.output)")
        let byDefault = try workspace.ocs("config", "show")
        #expect(byDefault.output.split(separator: "\n").contains { $0.split(separator: " ").prefix(3) == ["feedValidity", "86400", "default"] }, "\(byDefault.output)")

        let tooShort = try Command.run("/usr/bin/env", ["OCS_FEED_VALIDITY=60", Command.ocs, "serve", "--db", workspace.database])
        #expect(tooShort.status != 0)
        #expect(tooShort.stderr.contains("OCS_FEED_VALIDITY: '60' is not a whole number from 300 to 2592000"), "\(tooShort.stderr)")
        let tooLong = try workspace.ocs("serve", "--db", workspace.database, "--feed-validity", "2592001")
        #expect(tooLong.status != 0)
        #expect(tooLong.stderr.contains("--feed-validity: '2592001' is not a whole number from 300 to 2592000"), "\(tooLong.stderr)")
        #expect(!FileManager.default.fileExists(atPath: workspace.database), "a refused start created the database")

        // `ocs feed` signs as the server does, with the same setting.
        try workspace.createDatabase()
        #expect(try workspace.ocs("rules", "import", workspace.rules, "--db", workspace.database).status == 0)
        let before = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let printed = try workspace.ocs("feed", "--db", workspace.database, "--config", file)
        let after = Date()
        #expect(printed.status == 0, "\(printed.stderr)")
        let expiry = try Date(try Self.expires(in: printed.output), strategy: .iso8601)
        #expect(expiry >= before + 3600 && expiry <= after + 3600)
    }
}
