import Foundation
import OCSTestSupport
import Synchronization
import Testing

@Suite(.serialized)
struct CheckInEndToEndTests {
    struct HostJSON: Decodable {
        let name: String
        let serverId: String?
        let build: String?
        let buildName: String?
        let applied: [String]
        let blocked: [String]
        let mitigationsEnabled: Bool?
        let remoteAddress: String?
        let userAgent: String?
        let pollCount: Int
    }

    func hosts(_ workspace: Workspace) throws -> [HostJSON] {
        let result = try workspace.ocs("hosts", "--json", "--db", workspace.database)
        #expect(result.status == 0, "\(result.stderr)")
        return try JSONDecoder().decode([HostJSON].self, from: result.stdout)
    }

    @Test func checkInsAppearAndSurviveAKilledServer() throws {
        let workspace = try Workspace()
        var server = try workspace.startServer()
        let query = "build=15.2.1118.7&server=EX01&serverId=6F1D2C3B-0A4E-4B5C-9D8E-7F6A5B4C3D2E&applied=PING1,M1&blocked=M2&mitigationsEnabled=true&dataCollectionEnabled=false"
        let response = try Curl.request(server.baseURL + "/getexchangemitigations?" + query, ["--user-agent", "EEMS-test/1.0"])
        #expect(response.status == 200)
        // No clean shutdown: what was answered must already be on disk.
        server.kill()

        var listed = try hosts(workspace)
        #expect(listed.count == 1)
        let host = try #require(listed.first)
        #expect(host.name == "EX01")
        #expect(host.serverId == "6f1d2c3b-0a4e-4b5c-9d8e-7f6a5b4c3d2e")
        #expect(host.build == "15.2.1118.7")
        #expect(host.buildName == "Exchange 2019 CU12")
        #expect(host.applied == ["PING1", "M1"])
        #expect(host.blocked == ["M2"])
        #expect(host.mitigationsEnabled == true)
        #expect(host.remoteAddress == "127.0.0.1")
        #expect(host.userAgent == "EEMS-test/1.0")
        #expect(host.pollCount == 1)

        server = try workspace.startServer()
        defer { server.stop() }
        _ = try Curl.request(server.baseURL + "/getexchangemitigations?server=ex01&build=15.2.1118.15")
        _ = try Curl.request(server.baseURL + "/getexchangemitigations?" + query)
        _ = try Curl.request(server.baseURL + "/getexchangemitigations?build=15.2.1118.15")
        listed = try hosts(workspace)
        #expect(listed.map(\.pollCount) == [2], "by serverId twice; its name alone, without the serverId it reported, changes nothing; anonymous polls are not check-ins")
        #expect(listed.first?.build == "15.2.1118.7", "the last identified poll's build")

        let table = try workspace.ocs("hosts", "--db", workspace.database)
        #expect(table.output.contains("EX01"))
        #expect(table.output.contains("Exchange 2019 CU12"))
    }

    /// Forged and flooding polls are served their feed but cannot make coverage lie or grow the
    /// database: a name-only poll leaves the host that reported a serverId alone, no poll merges
    /// two hosts, new hosts stop at --max-hosts; each refusal is counted in /metrics.
    @Test func forgedAndFloodingPollsAreServedButChangeNothing() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer("--max-hosts", "3")
        defer { server.stop() }
        let feed = server.baseURL + "/getexchangemitigations?build=15.2.1118.7"
        let b = "00000000-0000-4000-8000-00000000000b"
        #expect(try Curl.request(feed + "&server=EX16-A&applied=PING1").status == 200)
        #expect(try Curl.request(feed + "&server=EX16-B&serverId=\(b)&applied=PING1").status == 200)
        // The attacks: B made to look protected by name; A merged into B.
        #expect(try Curl.request(feed + "&server=ex16-b&applied=PING1,M1").status == 200)
        #expect(try Curl.request(feed + "&server=EX16-A&serverId=\(b)&applied=PING1").status == 200)
        var listed = try hosts(workspace)
        #expect(listed.map(\.name) == ["EX16-A", "EX16-A"], "two hosts still; B polled under a new name, as its serverId may")
        #expect(listed.allSatisfy { $0.applied == ["PING1"] }, "M1 applied nowhere")
        // A flood of new hosts stops at --max-hosts; every poll is still served.
        for number in 1...4 {
            #expect(try Curl.request(feed + "&serverId=00000000-0000-4000-8000-00000000010\(number)").status == 200)
        }
        listed = try hosts(workspace)
        #expect(listed.count == 3)
        let metrics = try Curl.request(server.baseURL + "/metrics").text
        #expect(metrics.contains("ocs_check_ins_refused_total{reason=\"name-of-identified-host\"} 1"), "\(metrics)")
        #expect(metrics.contains("ocs_check_ins_refused_total{reason=\"max-hosts\"} 3"))
        #expect(metrics.contains("ocs_check_ins_refused_total{reason=\"new-host-rate\"} 0"))
        #expect(server.log.contains("the database holds the most hosts allowed (--max-hosts)"))
    }

    @Test func badRequestsGetTheirStatusAndRecordNothing() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        let id = "serverId=6f1d2c3b-0a4e-4b5c-9d8e-7f6a5b4c3d2e"
        let long = String(repeating: "a", count: 257)
        let cases: [(String, [String], Int, String)] = [
            ("/getexchangemitigations?\(id)&build=15.2.x", [], 400, "parameter 'build'"),
            ("/getexchangemitigations?\(id)&build=Version%2015.2", [], 400, "parameter 'build'"),
            ("/getexchangemitigations?serverId=not-a-guid", [], 400, "parameter 'serverId'"),
            ("/getexchangemitigations?\(id)&orgId=1234", [], 400, "parameter 'orgId'"),
            ("/getexchangemitigations?\(id)&mitigationsEnabled=maybe", [], 400, "parameter 'mitigationsEnabled'"),
            ("/getexchangemitigations?\(id)&dataCollectionEnabled=2", [], 400, "parameter 'dataCollectionEnabled'"),
            ("/getexchangemitigations?\(id)&applied=M1;M2", [], 400, "parameter 'applied'"),
            ("/getexchangemitigations?\(id)&server=\(long)", [], 400, "parameter 'server'"),
            ("/getexchangemitigations?\(id)&blocked=\(long)", [], 400, "parameter 'blocked'"),
            ("/getexchangemitigations?\(id)&server=a&server=b", [], 400, "parameter 'server'"),
            ("/getexchangemitigations?\(id)", ["-X", "POST"], 405, "method POST"),
            ("/getexchangemitigations?\(id)", ["-X", "DELETE"], 405, "method DELETE"),
            ("/other?\(id)", [], 404, "no such path"),
            ("/", [], 404, "no such path"),
        ]
        for (path, options, status, message) in cases {
            let response = try Curl.request(server.baseURL + path, options)
            #expect(response.status == status, "\(path)")
            #expect(response.text.hasPrefix(message), "\(path): \(response.text)")
            #expect(response.text.filter { $0 == "\n" }.count == 1, "one line")
            if status == 405 { #expect(response.header("Allow") == "GET, HEAD") }
        }
        #expect(try hosts(workspace).isEmpty)

        let unknown = try Curl.request(server.baseURL + "/getexchangemitigations?\(id)&futureParameter=1&build=15.2.1118.7")
        #expect(unknown.status == 200, "unknown parameters are ignored")
        #expect(try hosts(workspace).count == 1)
    }
}

struct ConcurrentCheckInTests {
    @Test func everyConcurrentPollIsRecordedExactlyOnce() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        // Bounded: 120 polls from 8 concurrent clients, each curl capped at 20 s.
        let polls = 120
        let failures = Mutex(0)
        let base = server.baseURL
        DispatchQueue.concurrentPerform(iterations: 8) { client in
            for index in stride(from: client, to: polls, by: 8) {
                let id = String(format: "00000000-0000-4000-8000-%012d", index)
                let status = (try? Curl.request(base + "/getexchangemitigations?build=15.2.1118.7&serverId=\(id)").status) ?? 0
                if status != 200 { failures.withLock { $0 += 1 } }
            }
        }
        #expect(failures.withLock { $0 } == 0)
        let hosts = try workspace.ocs("hosts", "--json", "--db", workspace.database)
        let decoded = try JSONSerialization.jsonObject(with: hosts.stdout) as? [[String: Any]] ?? []
        #expect(decoded.count == polls)
        #expect(decoded.allSatisfy { $0["pollCount"] as? Int == 1 })
    }
}
