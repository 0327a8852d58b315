import OCSDomain
import Testing
@testable import OCSFeed

struct FeedQueryTests {
    func parse(_ items: [(String, String?)]) throws(FeedQueryError) -> FeedQuery {
        try FeedQuery(items: items.map { (name: $0.0, value: $0.1) })
    }

    @Test func parsesEveryParameter() throws {
        let query = try parse([
            ("build", "Version 15.2 (Build 1118.7)"), ("server", "EX01.contoso.local"),
            ("serverId", "{6F1D2C3B-0A4E-4B5C-9D8E-7F6A5B4C3D2E}"), ("orgId", "11111111-2222-3333-4444-555555555555"),
            ("applied", "PING1,M1"), ("blocked", ""), ("mitigationsEnabled", "True"), ("dataCollectionEnabled", "false"),
            ("somethingNew", "ignored"),
        ])
        #expect(query.build == (try ExchangeBuild(parsing: "15.2.1118.7")))
        #expect(query.server == "EX01.contoso.local")
        #expect(query.serverID == "6f1d2c3b-0a4e-4b5c-9d8e-7f6a5b4c3d2e")
        #expect(query.orgID == "11111111-2222-3333-4444-555555555555")
        #expect(query.applied == ["PING1", "M1"])
        #expect(query.blocked == [])
        #expect(query.mitigationsEnabled == true)
        #expect(query.dataCollectionEnabled == false)
        #expect(query.identifiesHost)
    }

    @Test func versionIsAnAliasOfBuild() throws {
        #expect(try parse([("version", "15.1.2507.6")]).build == (try ExchangeBuild(parsing: "15.1.2507.6")))
        #expect(throws: FeedQueryError.self) { try parse([("build", "15.1.2507.6"), ("version", "15.1.2507.6")]) }
    }

    @Test func anonymousPollsDoNotIdentifyAHost() throws {
        #expect(try !parse([("build", "15.1.2507.6")]).identifiesHost)
        #expect(try !parse([]).identifiesHost)
    }

    @Test(arguments: [
        ("build", "15.2.x"), ("build", ""), ("build", "15.0.1497.2"), ("version", "nope"),
        ("serverId", "not-a-guid"), ("serverId", "6f1d2c3b-0a4e-4b5c-9d8e-7f6a5b4c3d2"), ("orgId", "zzzzzzzz-2222-3333-4444-555555555555"),
        ("mitigationsEnabled", "yes"), ("dataCollectionEnabled", "1"),
        ("applied", "PING1,,M1"), ("blocked", "M1;DROP TABLE"), ("server", ""), ("server", "ex 01"), ("server", "<ex>"),
        ("server", String(repeating: "a", count: 257)), ("applied", String(repeating: "a", count: 257)),
    ])
    func rejectsBadValuesNamingTheParameter(_ name: String, _ value: String) {
        do {
            _ = try parse([(name, value)])
            Issue.record("accepted \(name)=\(value)")
        } catch {
            #expect(error.parameter == name)
            #expect(error.description.hasPrefix("parameter '\(name)'"))
        }
    }

    @Test func acceptsValuesUpToTheLimit() throws {
        #expect(try parse([("server", String(repeating: "a", count: 256))]).server?.count == 256)
    }

    @Test func rejectsARepeatedParameter() {
        #expect(throws: FeedQueryError(parameter: "server", message: "is given more than once")) {
            try parse([("server", "a"), ("server", "b")])
        }
    }
}
