import Foundation
import OCSTestSupport
import Testing

/// What replicas on PostgreSQL do when something fails, against real processes: the database
/// stopped and started again (a cluster of the test's own), a replica killed with SIGKILL under
/// load. A poll is acknowledged (200) only once its check-in is committed, so whatever fails,
/// every acknowledged check-in is in the database afterwards; polls that could not be recorded
/// are answered 503 in bounded time, never left hanging.
@Suite(.serialized)
struct PostgresFaultEndToEndTests {
    static let build = "15.2.1544.4"

    /// Every host of the load polls from 127.0.0.1: all are recorded (the default admits 120 new
    /// hosts a minute from one address).
    static let manyNewHosts = ["--new-hosts-per-address", "100000"]

    static func pollURL(_ server: ServerProcess, host: Int) -> String {
        server.baseURL + "/getexchangemitigations?build=\(build)&serverid=%7B\(guid(host))%7D&servername=FAULT\(host)"
    }

    static func guid(_ host: Int) -> String {
        String(format: "00000000-0000-4000-8000-%012d", host)
    }

    /// Server ids in the database's hosts table, by psql (the server's own client).
    static func recordedHosts(_ database: String) throws -> Set<String> {
        let listed = try Command.run("psql", [database, "--no-psqlrc", "--tuples-only", "--no-align", "--command", "SELECT server_id FROM hosts"])
        #expect(listed.status == 0, "\(listed.stderr)")
        return Set(listed.output.split(separator: "\n").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "{} ")).lowercased() })
    }

    @Test func whilePostgresIsDownPollsAre503AndServiceResumesByItself() throws {
        let cluster = try PostgresCluster()
        let workspace = try Workspace()
        let server = try ServerProcess(database: cluster.url, arguments: try workspace.signingArguments())
        defer { server.stop() }
        #expect(try Curl.request(Self.pollURL(server, host: 1)).status == 200)

        try cluster.stop()
        let started = Date()
        let refused = try Curl.request(Self.pollURL(server, host: 2))
        let waited = Date().timeIntervalSince(started)
        print("faults: with PostgreSQL stopped, an identified poll was answered \(refused.status) after \(Int(waited * 1000)) ms")
        #expect(refused.status == 503, "\(refused.text)")
        let readiness = try Curl.request(server.baseURL + "/readyz")
        #expect(readiness.status == 503 && readiness.text.contains("database"), "\(readiness.text)")

        try cluster.resume()
        var resumed = 0
        for _ in 0..<300 where resumed != 200 {
            resumed = try Curl.request(Self.pollURL(server, host: 3)).status
            if resumed != 200 { Thread.sleep(forTimeInterval: 0.1) }
        }
        #expect(resumed == 200, "service resumes once PostgreSQL is back")
        #expect(try Curl.request(server.baseURL + "/readyz").status == 200)
        let recorded = try Self.recordedHosts(cluster.url)
        #expect(recorded.contains(Self.guid(1)) && recorded.contains(Self.guid(3)), "\(recorded)")
        #expect(!recorded.contains(Self.guid(2)), "the poll answered 503 was not recorded")
    }

    /// Identified polls from many hosts at once (curl --parallel), each host once; `interrupt`
    /// runs once `after` polls have been answered. Returns each host's status (0: no answer).
    static func load(_ server: ServerProcess, hosts: Range<Int>, in folder: URL, after: Int, interrupt: () throws -> Void) throws -> [Int: Int] {
        let config = folder.appendingPathComponent("load.curl")
        let answers = folder.appendingPathComponent("load.out")
        try hosts.map { "url = \"\(pollURL(server, host: $0))\"\noutput = \"/dev/null\"\n" }.joined().write(to: config, atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: answers.path, contents: nil)
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: try Command.which("curl"))
        curl.arguments = ["--silent", "--parallel", "--parallel-max", "32", "--max-time", "20", "--config", config.path,
                          "--write-out", "%{http_code} %{url_effective}\\n"]
        curl.standardOutput = try FileHandle(forWritingTo: answers)
        curl.standardError = FileHandle.nullDevice
        curl.standardInput = FileHandle.nullDevice
        try curl.run()
        defer { if curl.isRunning { curl.terminate() } }
        var interrupted = false
        let deadline = Date().addingTimeInterval(120)
        while curl.isRunning && Date() < deadline {
            if !interrupted, (try String(contentsOf: answers, encoding: .utf8)).split(separator: "\n").count >= after {
                try interrupt()
                interrupted = true
            }
            usleep(5_000)
        }
        #expect(interrupted, "the load ran long enough to be interrupted")
        #expect(!curl.isRunning, "the load finished within its deadline")
        var statuses: [Int: Int] = [:]
        for line in try String(contentsOf: answers, encoding: .utf8).split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 2, let status = Int(fields[0]),
                  let name = fields[1].range(of: "servername=FAULT"), let host = Int(fields[1][name.upperBound...]) else { continue }
            statuses[host] = status
        }
        return statuses
    }

    @Test func aReplicaKilledUnderLoadLosesNoAcknowledgedCheckIn() throws {
        let workspace = try Workspace()
        let database = try TestDatabase.createPostgresDatabase().description
        let server = try ServerProcess(database: database, arguments: try workspace.signingArguments() + Self.manyNewHosts)
        defer { server.stop() }
        let statuses = try Self.load(server, hosts: 0..<3000, in: workspace.folder, after: 500) {
            kill(server.process.processIdentifier, SIGKILL)
        }
        let acknowledged = Set(statuses.filter { $0.value == 200 }.keys.map(Self.guid))
        let recorded = try Self.recordedHosts(database)
        print("faults: replica killed with SIGKILL under load: \(acknowledged.count) polls acknowledged, \(statuses.count - acknowledged.count) not; \(recorded.count) hosts in the database; \(acknowledged.subtracting(recorded).count) acknowledged check-ins missing")
        #expect(acknowledged.count >= 500 && acknowledged.count < 3000, "the kill fell inside the load")
        #expect(acknowledged.isSubset(of: recorded), "acknowledged but not recorded: \(acknowledged.subtracting(recorded).sorted().prefix(5))")
    }

    @Test func postgresRestartedUnderLoadLosesNoAcknowledgedCheckIn() throws {
        let cluster = try PostgresCluster()
        let workspace = try Workspace()
        let server = try ServerProcess(database: cluster.url, arguments: try workspace.signingArguments() + Self.manyNewHosts)
        defer { server.stop() }
        let statuses = try Self.load(server, hosts: 0..<3000, in: workspace.folder, after: 500) {
            try cluster.stop()
            try cluster.resume()
        }
        let acknowledged = Set(statuses.filter { $0.value == 200 }.keys.map(Self.guid))
        let others = Dictionary(grouping: statuses.values.filter { $0 != 200 }, by: { $0 }).mapValues(\.count)
        let recorded = try Self.recordedHosts(cluster.url)
        print("faults: PostgreSQL restarted under load: \(acknowledged.count) polls acknowledged, others by status \(others); \(acknowledged.subtracting(recorded).count) acknowledged check-ins missing")
        #expect(acknowledged.isSubset(of: recorded), "acknowledged but not recorded: \(acknowledged.subtracting(recorded).sorted().prefix(5))")
        #expect(Set(others.keys).isSubset(of: [503]), "a poll that could not be recorded is refused with 503: \(others)")
        #expect(try Curl.request(Self.pollURL(server, host: 9999)).status == 200, "service resumed")
    }
}
