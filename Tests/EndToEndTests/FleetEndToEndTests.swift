import Foundation
import OCSTestSupport
import Testing

/// Host identity, coverage, the fleet view, pagination, forgetting and pruning, through the real
/// server and CLI, on a fleet built by identified polls.
@Suite(.serialized)
struct FleetEndToEndTests {
    /// Seconds without a poll before a host is stale, short so the test can wait for it.
    static let staleAfter = 3

    final class Fleet {
        let workspace: Workspace
        let server: ServerProcess
        var tokens: [String: String] = [:]

        init(serverArguments: [String] = ["--stale-after", String(FleetEndToEndTests.staleAfter)]) throws {
            workspace = try Workspace()
            server = try ServerProcess(database: workspace.database, arguments: ["--rules", workspace.rules] + serverArguments)
            for (name, role) in [("rita", "reader"), ("alice", "publisher")] {
                let created = try workspace.ocs("tokens", "create", "--name", name, "--role", role, "--db", workspace.database)
                tokens[name] = created.output.trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }

        @discardableResult
        func poll(_ query: String) throws -> Int {
            try Curl.request(server.baseURL + "/getexchangemitigations?" + query).status
        }

        func call(_ path: String, _ method: String = "GET", token: String = "rita") throws -> CurlResponse {
            try Curl.request(server.baseURL + "/api/v1" + path, ["-X", method, "-H", "Authorization: Bearer \(tokens[token]!)"])
        }

        func json(_ path: String, token: String = "rita") throws -> [String: Any] {
            let response = try call(path, token: token)
            #expect(response.status == 200, "\(path): \(response.text)")
            return try JSONSerialization.jsonObject(with: response.body) as? [String: Any] ?? [:]
        }

        func names(_ path: String) throws -> [String] {
            (try json(path)["items"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        }

        func ocs(_ arguments: String...) throws -> CommandResult {
            try workspace.ocs(arguments + ["--db", workspace.database])
        }

        deinit { server.stop() }
    }

    static func guid(_ number: Int) -> String { String(format: "00000000-0000-4000-8000-%012d", number) }

    /// Polls of every host that must be fresh when coverage is read; repeating them changes no state.
    static let freshPolls = [
        "serverId=\(guid(2))&server=LEFT-SCOPE&build=15.2.1118.15&applied=PING1",
        "server=NOBUILD&applied=PING1,M1",
        "serverId=\(guid(3))&server=BLOCKED-01&build=15.2.1118.7&applied=PING1,M1&blocked=M1",
        "serverId=\(guid(4))&server=APPLIED-01&build=Version%2015.2%20(Build%201118.7)&applied=PING1,M1&mitigationsEnabled=false",
        "serverId=\(guid(5))&server=ex16-01&build=15.1.2507.6&mitigationsEnabled=false",
        "serverId=\(guid(6))&server=PENDING-01&build=15.2.1118.7&applied=PING1&mitigationsEnabled=true",
        "serverId=\(guid(7))&server=SE-01&build=15.2.2562.17",
    ]

    static let expectedCounts: [String: Int] = [
        "total": 8, "unknown": 1, "notApplicable": 2, "inScope": 5, "stale": 1,
        "blocked": 1, "applied": 1, "disabled": 1, "pending": 1, "exposed": 4, "narrowed": 0,
    ]

    /// Builds the fleet: STALE-01 polls, goes quiet until the server lists it as stale (bounded),
    /// then every other host polls. LEFT-SCOPE first polls on an exposed build, then on the fixed one;
    /// EX16-01 polls with its serverId, then again with its name in lower case (the same name).
    func buildFleet(_ fleet: Fleet) throws {
        #expect(try fleet.poll("serverId=\(Self.guid(1))&server=STALE-01&build=15.2.1118.7&applied=PING1") == 200)
        #expect(try fleet.poll("serverId=\(Self.guid(2))&server=LEFT-SCOPE&build=15.2.1118.7&applied=PING1") == 200)
        #expect(try fleet.poll("serverId=\(Self.guid(5))&server=EX16-01&build=15.1.2507.6&mitigationsEnabled=false") == 200)
        let deadline = Date().addingTimeInterval(30)
        while try fleet.names("/hosts?stale=true").count < 3 && Date() < deadline { usleep(200_000) }
        try refresh(fleet)
    }

    func refresh(_ fleet: Fleet) throws {
        for query in Self.freshPolls { #expect(try fleet.poll(query) == 200, "\(query)") }
    }

    @Test func coverageIsRightForEveryStateAndTheFleetAddsUp() throws {
        let fleet = try Fleet()
        try buildFleet(fleet)

        let coverage = try fleet.json("/rules/M1/coverage")
        #expect(coverage["rule"] as? String == "M1")
        #expect(coverage["revision"] as? Int == 1)
        #expect(coverage["staleAfterSeconds"] as? Int == Self.staleAfter)
        #expect(coverage["hosts"] as? [String: Int] == Self.expectedCounts)

        try refresh(fleet)
        let members: [String: [String]] = [
            "unknown": ["NOBUILD"], "notApplicable": ["LEFT-SCOPE", "SE-01"], "stale": ["STALE-01"], "blocked": ["BLOCKED-01"],
            "applied": ["APPLIED-01"], "disabled": ["EX16-01"], "pending": ["PENDING-01"],
            "exposed": ["STALE-01", "EX16-01", "BLOCKED-01", "PENDING-01"],
        ]
        for (state, names) in members {
            let listed = try fleet.json("/rules/M1/coverage?state=\(state)")
            #expect(listed["state"] as? String == state)
            #expect(Set((listed["items"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }) == Set(names), "\(state)")
        }
        let firstPage = try fleet.json("/rules/M1/coverage?state=exposed&limit=3")
        #expect((firstPage["items"] as? [Any])?.count == 3)
        let next = try #require(firstPage["next"] as? String)
        let lastPage = try fleet.json("/rules/M1/coverage?state=exposed&limit=3&cursor=\(next)")
        #expect((lastPage["items"] as? [Any])?.count == 1)
        #expect(lastPage["next"] is NSNull, "null on the last page")

        let cli = try fleet.ocs("rules", "coverage", "M1", "--json", "--stale-after", String(Self.staleAfter))
        #expect(cli.status == 0, "\(cli.stderr)")
        #expect((try JSONSerialization.jsonObject(with: cli.stdout) as? [String: Any])?["hosts"] as? [String: Int] == Self.expectedCounts)
        let staleList = try fleet.ocs("rules", "coverage", "M1", "--state", "stale", "--stale-after", String(Self.staleAfter))
        #expect(staleList.output.contains("STALE-01"))
        #expect(!staleList.output.contains("PENDING-01"))

        try refresh(fleet)
        let summary = try fleet.json("/fleet")
        #expect(summary["hosts"] as? [String: Int] == ["total": 8, "stale": 1, "unknownBuild": 1, "notOnNewestUpdate": 7, "verified": 0])
        let rules = summary["rules"] as? [[String: Any]] ?? []
        #expect(rules.compactMap { $0["rule"] as? String } == ["M1", "PING1"])
        #expect(rules.first?["hosts"] as? [String: Int] == Self.expectedCounts)
        #expect(rules.last?["hosts"] as? [String: Int] == [
            "total": 8, "unknown": 1, "notApplicable": 0, "inScope": 7, "stale": 1,
            "blocked": 0, "applied": 4, "disabled": 1, "pending": 1, "exposed": 3, "narrowed": 0,
        ], "PING1 applies to every build")
        let builds = summary["builds"] as? [[String: Any]] ?? []
        #expect(builds.first { $0["build"] as? String == "15.2.1118.15" }?["name"] as? String == "Exchange 2019 CU12 Oct22SU")
        let text = try fleet.ocs("fleet", "--stale-after", String(Self.staleAfter))
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.output.hasPrefix("8 hosts: 0 verified, 1 stale"), "\(text.output)")
        #expect(text.output.contains("Exchange 2019 CU12 Oct22SU"))
    }

    @Test func hostsAreOneRowPerServerPagedAndFoundByName() throws {
        let fleet = try Fleet()
        try buildFleet(fleet)
        let ex16 = try fleet.json("/hosts/EX16-01")
        let host = ex16["host"] as? [String: Any] ?? [:]
        #expect(host["serverId"] as? String == Self.guid(5))
        #expect(host["pollCount"] as? Int == 2, "one host: a name differing in case is the same name")
        #expect(host["name"] as? String == "EX16-01", "keeping the spelling it first reported")
        #expect(try fleet.json("/hosts/\(Self.guid(5))")["host"] as? NSDictionary == host as NSDictionary)
        let id = try #require(host["id"] as? Int)
        #expect((try fleet.json("/hosts/\(id)")["host"] as? [String: Any])?["name"] as? String == "EX16-01")

        let left = try fleet.json("/hosts/left-scope")
        let history = (left["history"] as? [String: Any])?["items"] as? [[String: Any]] ?? []
        #expect(history.compactMap { $0["build"] as? String } == ["15.2.1118.15", "15.2.1118.7"], "each change once, newest first")

        var seen: [Int] = []
        var cursor: String?
        var pages = 0
        repeat {
            let page = try fleet.json("/hosts?limit=3" + (cursor.map { "&cursor=\($0)" } ?? ""))
            seen += (page["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int }
            cursor = page["next"] as? String
            pages += 1
        } while cursor != nil && pages < 10
        #expect(seen.count == 8)
        #expect(Set(seen).count == 8)
        #expect(pages == 3)
        #expect(try fleet.names("/hosts?stale=true") == ["STALE-01"])
        #expect(try fleet.names("/hosts?stale=false").count == 7)
        let cli = try fleet.ocs("hosts", "--stale", "--stale-after", String(Self.staleAfter))
        #expect(cli.output.contains("STALE-01 (stale)"))
        #expect(!cli.output.contains("PENDING-01"))
        let all = try fleet.ocs("hosts", "--json")
        #expect((try JSONSerialization.jsonObject(with: all.stdout) as? [Any])?.count == 8)
        let shown = try fleet.ocs("hosts", "show", "LEFT-SCOPE", "--json")
        let shownJSON = try JSONSerialization.jsonObject(with: shown.stdout) as? [String: Any]
        #expect((shownJSON?["history"] as? [Any])?.count == 2, "\(shown.output)")

        let hostsCursor = try #require(try fleet.json("/hosts?limit=1")["next"] as? String)
        let auditCursor = try #require(try fleet.json("/audit?limit=1")["next"] as? String)
        for (path, message) in [
            ("/hosts?limit=0", "limit '0'"), ("/hosts?limit=1001", "limit '1001'"), ("/hosts?cursor=nonsense", "cursor 'nonsense'"),
            ("/hosts?cursor=\(auditCursor)", "cursor"), ("/audit?cursor=\(hostsCursor)", "cursor"), ("/hosts?stale=maybe", "stale 'maybe'"),
            ("/rules/M1/coverage?state=Exposed", "state 'Exposed'"), ("/rules/M1/coverage?state=exposed&cursor=x", "cursor 'x'"),
            ("/hosts/a%20b", "'a b' is not a valid host"),
        ] {
            let response = try fleet.call(path)
            #expect(response.status == 400, "\(path)")
            #expect(response.text.contains(message), "\(path): \(response.text)")
        }
        #expect(try fleet.call("/hosts/NOBODY").status == 404)
        #expect(try fleet.call("/rules/EXAMPLE-SERVICE/coverage").status == 409)
        #expect(try fleet.call("/rules/NOPE/coverage").status == 404)
    }

    @Test func forgettingAHostRemovesItAndIsAudited() throws {
        let fleet = try Fleet()
        try refresh(fleet)
        #expect(try fleet.call("/hosts/SE-01", "DELETE", token: "rita").status == 403)
        #expect(try fleet.call("/hosts/SE-01", "DELETE", token: "alice").status == 204)
        #expect(try fleet.call("/hosts/SE-01").status == 404)
        #expect(try fleet.call("/hosts/SE-01", "DELETE", token: "alice").status == 404)
        let forgot = try fleet.ocs("hosts", "forget", "nobuild")
        #expect(forgot.status == 0, "\(forgot.stderr)")
        #expect(forgot.output.contains("forgot host"))
        let again = try fleet.ocs("hosts", "forget", "nobuild")
        #expect(again.status != 0)
        #expect(again.stderr.contains("no host 'nobuild'"))
        #expect(try fleet.names("/hosts").count == 5)
        #expect(try Command.run("sqlite3", [fleet.workspace.database, "SELECT COUNT(*) FROM host_history WHERE host_id NOT IN (SELECT id FROM hosts)"]).output == "0\n")
        let audit = try fleet.json("/audit?limit=1000")["items"] as? [[String: Any]] ?? []
        let forgets = audit.filter { $0["action"] as? String == "host.forget" }.map { "\($0["actor"]!) \($0["outcome"]!)" }
        #expect(forgets.count == 5, "the reader's refusal, alice's removal and refusal, the command line's two: \(forgets)")
        #expect(forgets.first?.hasPrefix("rita refused: 403") == true)
        #expect(forgets.contains { $0.hasPrefix("alice ok: host") && $0.contains("SE-01") })
        #expect(forgets.contains { $0.hasPrefix("alice refused: no host 'SE-01'") })
        #expect(forgets.contains { $0.hasPrefix("local:") && $0.contains("ok: host") && $0.contains("NOBUILD") })
        // The audit trail pages oldest first.
        let first = try fleet.json("/audit?limit=2")
        let second = try fleet.json("/audit?limit=2&cursor=\(try #require(first["next"] as? String))")
        let ids = ((first["items"] as? [[String: Any]] ?? []) + (second["items"] as? [[String: Any]] ?? [])).compactMap { $0["id"] as? Int }
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == 4)
    }

    @Test func historyOlderThanTheRetentionIsPrunedByTheServer() throws {
        let workspace = try Workspace()
        var server = try workspace.startServer()
        for build in ["15.2.1118.7", "15.2.1118.9", "15.2.1118.12"] {
            _ = try Curl.request(server.baseURL + "/getexchangemitigations?server=EX01&build=\(build)")
        }
        server.stop()
        // Two changes from 2020, before the recorded ones (entries are immutable: they are inserted).
        let insert = try Command.run("sqlite3", [workspace.database, """
            INSERT INTO host_history (id, host_id, changed_at, server_name, build, applied, blocked)
            SELECT column1, (SELECT id FROM hosts), '2020-01-0' || (column1 + 3) || ' 00:00:00.000', 'EX01', '15.2.986.' || (column1 + 3), '[]', '[]'
            FROM (VALUES (-2), (-1))
            """])
        #expect(insert.status == 0, "\(insert.stderr)")
        let builds = { try Command.run("sqlite3", [workspace.database, "SELECT group_concat(build) FROM (SELECT build FROM host_history ORDER BY id)"]).output }
        #expect(try builds() == "15.2.986.1,15.2.986.2,15.2.1118.7,15.2.1118.9,15.2.1118.12\n")
        server = try ServerProcess(database: workspace.database, arguments: ["--rules", workspace.rules, "--retain-history", "30"])
        defer { server.stop() }
        let deadline = Date().addingTimeInterval(30)
        while try builds().hasPrefix("15.2.986") && Date() < deadline { usleep(100_000) }
        #expect(try builds() == "15.2.1118.7,15.2.1118.9,15.2.1118.12\n", "the old changes are gone, the recent ones kept")
        // The audit trail still refuses deletes.
        let delete = try Command.run("sqlite3", [workspace.database, "DELETE FROM audit_log"])
        #expect(delete.status != 0)
    }
}
