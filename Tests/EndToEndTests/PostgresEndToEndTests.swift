import Foundation
import OCSTestSupport
import Testing

/// `ocs serve` and the commands on one PostgreSQL database, as replicas behind a load balancer
/// run: what one replica records or an operator changes, the others serve.
struct PostgresEndToEndTests {
    static let feedPath = "/getexchangemitigations"

    @Test func replicasShareHostsRulesAndTheSignedFeed() throws {
        let workspace = try Workspace()
        let database = try TestDatabase.createPostgresDatabase().description
        let signing = try workspace.signingArguments()
        let first = try ServerProcess(database: database, arguments: ["--rules", workspace.rules] + signing)
        defer { first.stop() }
        let second = try ServerProcess(database: database, arguments: signing)
        defer { second.stop() }

        // A poll through each replica: both hosts are in the one database.
        let build = "15.2.1544.4"
        for (server, guid, name) in [(first, "11111111-2222-3333-4444-555555555555", "EX01"), (second, "66666666-7777-8888-9999-000000000000", "EX02")] {
            let poll = try Curl.request(server.baseURL + Self.feedPath + "?build=\(build)&serverid=%7B\(guid)%7D&servername=\(name)")
            #expect(poll.status == 200)
        }
        let hosts = try workspace.ocs("hosts", "--db", database)
        #expect(hosts.status == 0, "\(hosts.stderr)")
        #expect(hosts.output.contains("11111111-2222-3333-4444-555555555555") && hosts.output.contains("66666666-7777-8888-9999-000000000000"), "\(hosts.output)")

        // The rules the first replica imported are the second's too, signed by the one identity.
        let certificate = workspace.folder.appendingPathComponent("keys/signing-cert.pem").path
        let fromFirst = try Curl.request(first.baseURL + Self.feedPath + "?build=\(build)").body
        let fromSecond = try Curl.request(second.baseURL + Self.feedPath + "?build=\(build)").body
        #expect(try XMLSec.verify(fromSecond, trusting: certificate).status == 0)
        let served = try XMLLint.configIDs(fromFirst)
        #expect(!served.isEmpty)
        #expect(try XMLLint.configIDs(fromSecond) == served)
        #expect(fromFirst == fromSecond, "replicas sign the same bytes for the same state, so ETags hold across them")

        // A rule imported by a command reaches both replicas (bounded wait).
        let rule = try workspace.write("""
            id: PGRULE
            description: published through the command line on PostgreSQL
            state: published
            actions:
              - type: DisableService
                service: MSExchangeTest
            """, to: "new/PGRULE.yaml")
        let imported = try workspace.ocs("rules", "import", rule, "--db", database)
        #expect(imported.status == 0, "\(imported.stderr)")
        for server in [first, second] {
            let deadline = Date().addingTimeInterval(10)
            var ids: [String] = []
            for _ in 0..<500 where Date() < deadline {
                ids = try XMLLint.configIDs(Curl.request(server.baseURL + Self.feedPath + "?build=\(build)").body)
                if ids.contains("PGRULE") { break }
                Thread.sleep(forTimeInterval: 0.02)
            }
            #expect(ids.contains("PGRULE"), "replica on port \(server.port) serves \(ids)")
        }
        #expect(try Curl.request(second.baseURL + "/readyz").status == 200)
    }

    /// Three replicas behind one load balancer: a publish through one is served by the other two
    /// within a second (they hear it as it commits: LISTEN/NOTIFY), and all three then answer with
    /// the same ETag, so a `304` holds whichever replica a poll reaches.
    @Test func aPublishThroughOneReplicaIsServedByTheOthersWithinASecond() throws {
        let workspace = try Workspace()
        let database = try TestDatabase.createPostgresDatabase().description
        let signing = try workspace.signingArguments()
        let replicas = try (0..<3).map { _ in try ServerProcess(database: database, arguments: signing) }
        defer { replicas.forEach { $0.stop() } }
        let created = try workspace.ocs("tokens", "create", "--name", "alice", "--role", "publisher", "--db", database)
        #expect(created.status == 0, "\(created.stderr)")
        let token = created.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let build = "15.2.1544.4"
        let feedURL = Self.feedPath + "?build=\(build)"
        // Every replica has served the feed before the publish, so each has it cached at the old serial.
        for replica in replicas { #expect(try Curl.request(replica.baseURL + feedURL).status == 200) }

        let api = ["-H", "Authorization: Bearer \(token)", "-H", "Content-Type: application/json"]
        let rule = #"{"id": "FRESH", "description": "published through one replica", "actions": [{"type": "DisableService", "service": "MSExchangeTest"}]}"#
        #expect(try Curl.request(replicas[0].baseURL + "/api/v1/rules/FRESH", ["-X", "PUT", "--data-binary", rule] + api).status == 201)
        let published = try Curl.request(replicas[0].baseURL + "/api/v1/rules/FRESH/publish", ["-X", "POST", "--data-binary", #"{"everyone": true}"#] + api)
        #expect(published.status == 200, "\(published.text)")
        let publishedAt = Date()

        for replica in replicas.dropFirst() {
            var served = false
            for _ in 0..<500 where Date().timeIntervalSince(publishedAt) < 10 {
                if try XMLLint.configIDs(Curl.request(replica.baseURL + feedURL).body).contains("FRESH") {
                    served = true
                    break
                }
                Thread.sleep(forTimeInterval: 0.005)
            }
            let delay = Date().timeIntervalSince(publishedAt)
            print("freshness: replica on port \(replica.port) served the publish \(Int(delay * 1000)) ms after it was acknowledged")
            #expect(served && delay < 1, "replica on port \(replica.port) served FRESH after \(delay) s")
        }
        let tags = try replicas.map { try Curl.request($0.baseURL + feedURL).header("ETag") }
        #expect(tags[0] != nil && Set(tags).count == 1, "one ETag from every replica: \(tags)")
        let revalidated = try Curl.request(replicas[2].baseURL + feedURL, ["-H", "If-None-Match: \(tags[0] ?? "")"])
        #expect(revalidated.status == 304)
    }

    /// A poll held by one replica is woken by a publish through another: the replica hears the
    /// commit (LISTEN/NOTIFY) and answers the held poll with the new feed. The poll asks to wait
    /// 50 s and curl gives up after 20: only the wake can answer it in time.
    @Test func aPollHeldByOneReplicaIsWokenByAPublishThroughAnother() throws {
        let workspace = try Workspace()
        let database = try TestDatabase.createPostgresDatabase().description
        let signing = try workspace.signingArguments()
        let replicas = try (0..<2).map { _ in try ServerProcess(database: database, arguments: signing) }
        defer { replicas.forEach { $0.stop() } }
        let token = try workspace.ocs("tokens", "create", "--name", "alice", "--role", "publisher", "--db", database).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let feedURL = replicas[1].baseURL + Self.feedPath + "?build=15.2.1544.4"
        let etag = try #require(try Curl.request(feedURL).header("ETag"))
        let held = DispatchQueue.global()
        let answer = DispatchSemaphore(value: 0)
        let box = ResultBox()
        held.async {
            box.result = Result { try Curl.request(feedURL, ["-H", "If-None-Match: \(etag)", "-H", "Prefer: wait=50"]) }
            answer.signal()
        }
        // Held once the replica counts it.
        var counted = false
        for _ in 0..<100 where !counted {
            counted = try Curl.request(replicas[1].baseURL + "/metrics").text.contains("ocs_held_polls 1")
            if !counted { Thread.sleep(forTimeInterval: 0.1) }
        }
        #expect(counted)
        let api = ["-H", "Authorization: Bearer \(token)", "-H", "Content-Type: application/json"]
        let rule = #"{"id": "WOKEN", "description": "published through the other replica", "actions": [{"type": "DisableService", "service": "MSExchangeTest"}]}"#
        #expect(try Curl.request(replicas[0].baseURL + "/api/v1/rules/WOKEN", ["-X", "PUT", "--data-binary", rule] + api).status == 201)
        #expect(try Curl.request(replicas[0].baseURL + "/api/v1/rules/WOKEN/publish", ["-X", "POST", "--data-binary", #"{"everyone": true}"#] + api).status == 200)
        #expect(answer.wait(timeout: .now() + 30) == .success)
        let woken = try #require(try box.result?.get())
        #expect(woken.status == 200 && woken.header("Preference-Applied") == "wait=50")
        #expect(try XMLLint.configIDs(woken.body).contains("WOKEN"))
    }

    /// The answer of a request made on another thread.
    final class ResultBox: @unchecked Sendable {
        // Written once by the request's thread before it signals the semaphore the test waits on,
        // read only after that wait: the semaphore orders the write before the read.
        var result: Result<CurlResponse, any Error>?
    }

    /// Replicas must sign alike: a generated development key would be one machine's.
    @Test func aPostgresDatabaseNeedsASigningIdentity() throws {
        let database = try TestDatabase.createPostgresDatabase().description
        #expect(throws: ServerDidNotStart.self) { _ = try ServerProcess(database: database) }
        let refused = try Command.run(Command.ocs, ["feed", "--build", "15.2.1544.4", "--db", database])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("every replica signs the feed with the same identity"), "\(refused.stderr)")
    }

    /// A password never travels in the URL (it would be in process lists and logs): refused,
    /// without repeating it.
    @Test func aPasswordInTheURLIsRefusedWithoutBeingRepeated() throws {
        let refused = try Command.run(Command.ocs, ["rules", "list", "--db", "postgres://ocs:hunter2@127.0.0.1:1/ocs"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("password"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("hunter2"))
    }

    /// `--database` and `OCS_DATABASE` name the database; `OCS_DB`, the former name, still works,
    /// and is refused when it names another database rather than one being silently chosen.
    @Test func theDatabaseSettingAndItsFormerNameAgreeOrAreRefused() throws {
        let workspace = try Workspace()
        try workspace.createDatabase()
        let viaNew = try Command.run("/usr/bin/env", ["OCS_DATABASE=sqlite:\(workspace.database)", Command.ocs, "rules", "list"])
        #expect(viaNew.status == 0, "\(viaNew.stderr)")
        let viaFormer = try Command.run("/usr/bin/env", ["OCS_DB=\(workspace.database)", Command.ocs, "rules", "list", "--database", workspace.database])
        #expect(viaFormer.status == 0, "\(viaFormer.stderr)")
        let conflicting = try Command.run("/usr/bin/env", ["OCS_DB=/elsewhere/ocs.sqlite", Command.ocs, "rules", "list", "--database", workspace.database])
        #expect(conflicting.status != 0)
        #expect(conflicting.stderr.contains("/elsewhere/ocs.sqlite") && conflicting.stderr.contains("keep one"), "\(conflicting.stderr)")
    }

    /// The password comes from one place: a file, or the environment; both, or an unreadable
    /// file, are refused before anything connects.
    @Test func thePasswordComesFromOnePlace() throws {
        let workspace = try Workspace()
        let database = "postgres://ocs@127.0.0.1:1/ocs"
        let file = try workspace.write("s3cret\n", to: "password")
        let both = try Command.run("/usr/bin/env", ["OCS_DATABASE_PASSWORD=envsecret9", Command.ocs, "rules", "list", "--database", database, "--database-password-file", file])
        #expect(both.status != 0)
        #expect(both.stderr.contains("keep one") && !both.stderr.contains("s3cret") && !both.stderr.contains("envsecret9"), "\(both.stderr)")
        let missing = try Command.run(Command.ocs, ["rules", "list", "--database", database, "--database-password-file", workspace.folder.appendingPathComponent("none").path])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("cannot read the database password file"), "\(missing.stderr)")
    }
}
