import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import OCSDomain
import OCSFeed
import OCSOperations
@testable import OCSServer
import OCSStorage
import Testing

/// The admin API driven in process, on an in-memory database: no socket, no thread pool, so each
/// case runs in milliseconds. The end-to-end suites drive the same API through the real binary.
@Suite("Admin API in process")
struct AdminAPITests {
    final class Fixture: Sendable {
        let operations: Operations
        let api: AdminAPI
        let admin: APIToken
        let publisher: APIToken

        init() throws {
            operations = Operations(database: try OCSDatabase.inMemory())
            api = AdminAPI(
                operations: operations, feeds: FeedService(store: operations.rules, signer: InProcessServer.signer),
                staleAfterSeconds: 3600, threadPool: NIOThreadPool(numberOfThreads: 1), logger: Logger(label: "admin-api-tests")
            )
            admin = try #require(try operations.tokens.authenticate(try operations.tokens.create(name: "root", role: .admin, context: .localUser)))
            publisher = try #require(try operations.tokens.authenticate(try operations.tokens.create(name: "alice", role: .publisher, context: .localUser)))
        }

        /// One call as the handler would pass it: `json` is sent as `application/json` unless
        /// `type` says otherwise.
        func call(
            _ method: HTTPMethod, _ path: String, json: String? = nil, type: String = "application/json", as caller: APIToken? = nil
        ) -> (response: HTTPResponse, serial: Int64?) {
            var headers: HTTPHeaders = [:]
            if json != nil { headers.add(name: "Content-Type", value: type) }
            var request = HTTPRequest(head: HTTPRequestHead(version: .http1_1, method: method, uri: "/api/v1" + path, headers: headers), remoteAddress: "127.0.0.1")
            request.body = json.map { ByteBuffer(string: $0) }
            let (response, serial) = api.handle(request, caller: caller ?? admin)
            return (response, serial)
        }

        /// A JSON object body.
        func json(_ response: HTTPResponse) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(response.bodyText.utf8)) as? [String: Any])
        }

        /// The problems of a `422` body, by field.
        func problems(_ response: HTTPResponse) throws -> [String: String] {
            struct Problem: Decodable { let field: String; let message: String }
            let problems = try JSONDecoder().decode([Problem].self, from: Data(response.bodyText.utf8))
            return Dictionary(problems.map { ($0.field, $0.message) }, uniquingKeysWith: { first, _ in first })
        }
    }

    static let rule = #"{"id": "M1", "description": "test", "actions": [{"type": "DisableService", "service": "MSExchangeTest"}]}"#

    @Test func aPublishAnswersWithTheSerialItCommitted() throws {
        let fixture = try Fixture()
        #expect(fixture.call(.PUT, "/rules/M1", json: Self.rule).response.status == .created)
        let before = try fixture.operations.rules.serial()
        let (response, serial) = fixture.call(.POST, "/rules/M1/publish", json: #"{"everyone": true}"#)
        #expect(response.status == .ok)
        #expect(serial == before + 1)
        #expect(try serial == fixture.operations.rules.serial())
        // A refusal changes nothing and reports no serial.
        let again = fixture.call(.POST, "/rules/M1/publish", json: #"{"revision": 7}"#)
        #expect(again.response.status == .unprocessableEntity && again.serial == nil)
        #expect(try fixture.operations.rules.serial() == before + 1)
    }

    /// A publish that takes the rule from hosts that have it applied is 409, naming how many and
    /// `"narrow": true`, and changes nothing; with it, it is done and audited as such.
    @Test func aNarrowingPublishIs409UntilAskedFor() throws {
        let fixture = try Fixture()
        #expect(fixture.call(.PUT, "/rules/M1", json: Self.rule).response.status == .created)
        #expect(fixture.call(.POST, "/rules/M1/publish", json: #"{"everyone": true}"#).response.status == .ok)
        #expect(fixture.call(.POST, "/groups", json: #"{"name": "canary", "names": ["CANARY*"]}"#).response.status == .created)
        try fixture.operations.checkIns.record([CheckIn(
            serverID: nil, serverName: "EX19-01", build: "15.2.1118.7", orgID: nil, applied: ["M1"], blocked: [],
            mitigationsEnabled: true, dataCollectionEnabled: nil, remoteAddress: nil, userAgent: nil, time: Date()
        )])
        let serial = try fixture.operations.rules.serial()
        let refused = fixture.call(.POST, "/rules/M1/publish?reason=CHG-9", json: #"{"to": ["canary"]}"#).response
        #expect(refused.status == .conflict && refused.bodyText.contains("stop serving it to 1 host that has it applied") && refused.bodyText.contains("to do it anyway, add"))
        #expect(try fixture.operations.rules.serial() == serial)
        #expect(fixture.call(.POST, "/rules/M1/publish", json: #"{"to": ["canary"], "narrow": "yes"}"#).response.status == .unprocessableEntity)
        // Asked to narrow without saying why: refused, naming the field.
        let unexplained = fixture.call(.POST, "/rules/M1/publish", json: #"{"to": ["canary"], "narrow": true}"#).response
        #expect(unexplained.status == .unprocessableEntity)
        #expect(try fixture.problems(unexplained)["reason"]?.contains("1 host that has it applied") == true)
        #expect(try fixture.operations.rules.serial() == serial)
        let narrowed = fixture.call(.POST, "/rules/M1/publish?reason=CHG-9", json: #"{"to": ["canary"], "narrow": true}"#)
        #expect(narrowed.response.status == .ok && narrowed.serial == serial + 1)
        // The host it took the rule from is counted and listed as such.
        let coverage = try fixture.json(fixture.call(.GET, "/rules/M1/coverage").response)
        #expect((coverage["hosts"] as? [String: Int])?["narrowed"] == 1, "\(coverage)")
        let listed = try fixture.json(fixture.call(.GET, "/rules/M1/coverage?state=narrowed").response)
        #expect((listed["items"] as? [[String: Any]])?.compactMap { $0["serverName"] as? String } == ["EX19-01"], "\(listed)")
        let audit = try fixture.operations.audit.entries(AuditLog.Filter(ruleID: "M1")).items.map(\.outcome)
        #expect(audit.contains { $0.hasPrefix("refused: ") && $0.contains("stop serving it to 1 host") } && audit.contains { $0.contains("narrowing allowed") }, "\(audit)")
    }

    /// Retiring takes the rule from every host that has it: refused while any has it applied,
    /// naming how many, unless `"narrow": true`.
    @Test func retiringARuleHostsHaveAppliedIs409UntilAskedFor() throws {
        let fixture = try Fixture()
        #expect(fixture.call(.PUT, "/rules/M1", json: Self.rule).response.status == .created)
        #expect(fixture.call(.POST, "/rules/M1/publish", json: #"{"everyone": true}"#).response.status == .ok)
        try fixture.operations.checkIns.record([CheckIn(
            serverID: nil, serverName: "EX19-01", build: "15.2.1118.7", orgID: nil, applied: ["M1"], blocked: [],
            mitigationsEnabled: true, dataCollectionEnabled: nil, remoteAddress: nil, userAgent: nil, time: Date()
        )])
        let refused = fixture.call(.POST, "/rules/M1/retire").response
        #expect(refused.status == .conflict && refused.bodyText.contains("would stop serving it to 1 host that has it applied"))
        #expect(try fixture.operations.rules.record(id: "M1")?.rule.state == .published)
        #expect(fixture.call(.POST, "/rules/M1/retire?reason=INC-3", json: #"{"narrow": true}"#).response.status == .ok)
        #expect(try fixture.operations.rules.record(id: "M1")?.rule.state == .retired)
    }

    /// Each body is parsed once, into JSON's own types: a number never passes for a boolean, a
    /// text for a list, a fraction for a revision. Every refusal names the field and changes nothing.
    @Test func bodiesKeepJSONTypesAndRefusalsNameTheField() throws {
        let fixture = try Fixture()
        #expect(fixture.call(.PUT, "/rules/M1", json: Self.rule).response.status == .created)
        let serial = try fixture.operations.rules.serial()
        let refused: [(HTTPMethod, String, String, field: String)] = [
            (.POST, "/rules/M1/publish", #"{"everyone": 1}"#, "everyone"),
            (.POST, "/rules/M1/publish", #"{"emergency": "yes"}"#, "emergency"),
            (.POST, "/rules/M1/publish", #"{"to": "ring1"}"#, "to"),
            (.POST, "/rules/M1/publish", #"{"to": ["ring1", 2]}"#, "to"),
            (.POST, "/rules/M1/publish", #"{"revision": 1.5}"#, "revision"),
            (.POST, "/rules/M1/publish", #"{"revision": "1"}"#, "revision"),
            (.POST, "/rules/M1/publish", #"{"everyone": true, "to": ["ring1"]}"#, "to"),
            (.POST, "/rules/M1/publish", #"{"everyone": true, "evryone": true}"#, "evryone"),
            (.POST, "/rules/M1/publish", #"[true]"#, ""),
            (.POST, "/tokens", #"{"name": "bob", "role": "root"}"#, "role"),
            (.POST, "/tokens", #"{"name": 7, "role": "reader"}"#, "name"),
            (.POST, "/tokens", #"{"name": "bob", "role": "reader", "admin": true}"#, "admin"),
            (.POST, "/enrollment-tokens", #"{"count": true}"#, "count"),
            (.POST, "/enrollment-tokens", #"{"validForHours": 2.5}"#, "validForHours"),
            (.POST, "/groups", #"{"name": "ring1", "hosts": "EX01"}"#, "hosts"),
            (.POST, "/groups", #"{"name": "ring1", "org": ["x"]}"#, "org"),
            (.PUT, "/policy", #"{"require-approval": true}"#, "require-approval"),
            (.POST, "/builds", #"[{"product": "Exchange2019", "cu": "CU15", "build": "15.2.1748.45", "released": "2026-11", "update": 3}]"#, "[0]"),
        ]
        for (method, path, body, field) in refused {
            let response = fixture.call(method, path, json: body).response
            #expect(response.status == .unprocessableEntity, "\(path) \(body): \(response.status)")
            #expect(try fixture.problems(response)[field] != nil, "\(path) \(body): \(response.bodyText)")
        }
        #expect(try fixture.operations.rules.serial() == serial)
        #expect(try fixture.operations.tokens.list().map(\.name).sorted() == ["alice", "root"])
        #expect(try fixture.operations.groups.groups().items.isEmpty)
        #expect(try !fixture.operations.changes.requiresApproval())
    }

    @Test func malformedDeepAndMistypedBodiesAreRefusedBeforeReading() throws {
        let fixture = try Fixture()
        let malformed = fixture.call(.POST, "/tokens", json: #"{"name": "bob", "#)
        #expect(malformed.response.status == .badRequest && malformed.response.bodyText.contains("not valid JSON"))
        let deep = String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
        let tooDeep = fixture.call(.POST, "/builds", json: deep)
        #expect(tooDeep.response.status == .badRequest && tooDeep.response.bodyText.contains("40 levels deep"))
        let form = fixture.call(.POST, "/tokens", json: #"{"name": "bob", "role": "reader"}"#, type: "application/x-www-form-urlencoded")
        #expect(form.response.status == .unsupportedMediaType)
        #expect(fixture.call(.POST, "/tokens", json: "").response.status == .badRequest)
        #expect(try fixture.operations.tokens.list().count == 2)
        // The same body, well formed, works.
        #expect(fixture.call(.POST, "/tokens", json: #"{"name": "bob", "role": "reader"}"#).response.status == .created)
    }

    @Test func aRefusalIsAuditedInItsOwnWordsAndTheRoleIsChecked() throws {
        let fixture = try Fixture()
        let forbidden = fixture.call(.POST, "/tokens", json: #"{"name": "bob", "role": "reader"}"#, as: fixture.publisher).response
        #expect(forbidden.status == .forbidden)
        let refused = fixture.call(.POST, "/rules/M9/publish", json: #"{"everyone": 1}"#, as: fixture.publisher).response
        #expect(refused.status == .unprocessableEntity)
        let entries = try fixture.operations.audit.entries(AuditLog.Filter(actor: "alice")).items
        #expect(entries.contains { $0.ruleID == "M9" && $0.outcome.hasPrefix("refused: 422") && $0.outcome.contains("everyone is true or false") })
        #expect(entries.contains { $0.outcome.hasPrefix("refused: 403") && $0.outcome.contains("needs admin") })
    }
}
