import Foundation
import OCSTestSupport
import Testing

/// Attacks on the HTTP layer from raw sockets, as an outsider on the network would make them,
/// against the real binary. Every wait is bounded; no assertion is about speed.
struct HTTPHardeningEndToEndTests {
    static let poll = "GET /getexchangemitigations?build=15.2.1118.7 HTTP/1.1\r\nHost: ocs\r\n\r\n"

    static func token(_ workspace: Workspace, role: String = "publisher") throws -> String {
        try workspace.ocs("tokens", "create", "--name", "attacker-\(UUID().uuidString.prefix(8))", "--role", role, "--db", workspace.database)
            .output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func occurrences(of needle: String, in bytes: [UInt8]) -> Int {
        String(decoding: bytes, as: UTF8.self).components(separatedBy: needle).count - 1
    }

    // MARK: Protocol errors

    @Test(arguments: [
        "GET /getexchangemitigations\r\nConnection: close\r\n\r\n",
        "GET /getexchangemitigations HTTP/2.0\r\nConnection: close\r\n\r\n",
        "GET /getexchangemitigations HTTP/1.1\r\nHost ocs\r\n\r\n",
    ])
    func aMalformedRequestGetsOne400AndTheConnectionCloses(request: String) throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        let connection = try RawConnection(port: server.port)
        try connection.send(request)
        let (bytes, closed) = connection.receiveUntilClosed(within: 10)
        #expect(closed, "the server kept the connection open after a protocol error")
        #expect(Self.occurrences(of: "HTTP/1.1 400", in: bytes) == 1, "\(String(decoding: bytes, as: UTF8.self))")
    }

    /// Two requests in one write: NIO hands the second to the server while the first's end is
    /// being written. Each is counted under its own route and only the poll as a poll (the
    /// second's start and route once overwrote the first's before it was counted).
    @Test func pipelinedRequestsAreEachCountedUnderTheirOwnRoute() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        let connection = try RawConnection(port: server.port)
        try connection.send("GET /metrics HTTP/1.1\r\nHost: ocs\r\n\r\n" + Self.poll.replacingOccurrences(of: "\r\n\r\n", with: "\r\nConnection: close\r\n\r\n"))
        let (bytes, closed) = connection.receiveUntilClosed(within: 10)
        #expect(closed)
        #expect(Self.occurrences(of: "HTTP/1.1 200", in: bytes) == 2, "\(String(decoding: bytes, as: UTF8.self).prefix(400))")
        let metrics = try Curl.request("http://127.0.0.1:\(server.port)/metrics").text
        let counts = metrics.split(separator: "\n").map(String.init).filter {
            $0.hasPrefix("ocs_polls_total{status=\"200\"}") || ($0.hasPrefix("ocs_request_duration_seconds_count") && !$0.hasSuffix(" 0"))
        }
        #expect(counts.sorted() == [
            "ocs_polls_total{status=\"200\"} 1",
            "ocs_request_duration_seconds_count{route=\"feed\"} 1",
            "ocs_request_duration_seconds_count{route=\"metrics\"} 1",
        ])
    }

    // MARK: Deadlines

    @Test(arguments: [
        "Content-Length: 100\r\n\r\nabc",
        "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
    ])
    func aStalledBodyIsAnswered408AndClosedAtTheBodyDeadline(framing: String) throws {
        let workspace = try Workspace()
        let server = try ServerProcess(database: workspace.database, arguments: ["--rules", workspace.rules, "--body-timeout", "1", "--idle-timeout", "60"])
        defer { server.stop() }
        let token = try Self.token(workspace)
        let connection = try RawConnection(port: server.port)
        try connection.send("PUT /api/v1/rules/M9 HTTP/1.1\r\nHost: ocs\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\n\(framing)")
        let (bytes, closed) = connection.receiveUntilClosed(within: 20)
        #expect(closed, "a request whose body stalled was never closed")
        #expect(String(decoding: bytes, as: UTF8.self).hasPrefix("HTTP/1.1 408"))
    }

    @Test func aHeadTrickledAByteAtATimeIsClosedAtTheHeaderDeadline() throws {
        let workspace = try Workspace()
        let server = try ServerProcess(database: workspace.database, arguments: ["--rules", workspace.rules, "--header-timeout", "1", "--idle-timeout", "60"])
        defer { server.stop() }
        let connection = try RawConnection(port: server.port)
        // Far more bytes than fit in the wait: the head never completes on its own.
        let head = Array("GET /getexchangemitigations?build=15.2.1118.7 HTTP/1.1\r\nHost: ocs\r\nX-Padding: \(String(repeating: "a", count: 200))".utf8)
        var answer: [UInt8] = []
        var closed = false
        for byte in head.prefix(60) where !closed {
            guard (try? connection.send([byte])) != nil else { closed = true; break }
            // Each pause is a quarter second: the idle timeout (60 s) never fires on its own.
            let (bytes, didClose) = connection.receiveUntilClosed(within: 0.25)
            answer += bytes
            closed = didClose
        }
        #expect(closed, "a head trickled for 15 s under --header-timeout 1 was still open")
        #expect(String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 408"))
    }

    // MARK: Bodies

    @Test func theFeedRefusesABodyWithoutReadingIt() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        // 50 MiB announced, a few bytes sent: the answer comes without the rest.
        let connection = try RawConnection(port: server.port)
        try connection.send("GET /getexchangemitigations HTTP/1.1\r\nHost: ocs\r\nContent-Length: 52428800\r\n\r\n" + String(repeating: "x", count: 1000))
        let (bytes, closed) = connection.receiveUntilClosed(within: 10)
        #expect(String(decoding: bytes, as: UTF8.self).hasPrefix("HTTP/1.1 413"))
        #expect(closed)

        // curl, sending a real 50 MiB body, gets the same answer.
        let body = FileManager.default.temporaryDirectory.appendingPathComponent("ocs-body-\(UUID().uuidString)")
        #expect(FileManager.default.createFile(atPath: body.path, contents: Data(count: 50 << 20)))
        defer { try? FileManager.default.removeItem(at: body) }
        let response = try Curl.request(server.baseURL + "/getexchangemitigations?server=EX-BODY", ["-X", "GET", "--data-binary", "@\(body.path)"])
        #expect(response.status == 413)
        // Refused before anything was recorded.
        #expect(!(try workspace.ocs("hosts", "--db", workspace.database).output.contains("EX-BODY")))
    }

    @Test func theAPIRefusesOversizedAndUnauthenticatedBodiesBeforeReadingThem() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        let token = try Self.token(workspace)
        let cases: [(headers: String, status: String)] = [
            ("Authorization: Bearer \(token)\r\nContent-Length: 2000000", "413"),
            ("Content-Length: 1000", "401"),
            ("Authorization: Bearer ocs_not-a-token\r\nContent-Length: 1000", "401"),
            ("Transfer-Encoding: chunked", "401"),
        ]
        for (headers, status) in cases {
            let connection = try RawConnection(port: server.port)
            // Only the head and a sliver of the body: the answer must not wait for the rest.
            try connection.send("PUT /api/v1/rules/M9 HTTP/1.1\r\nHost: ocs\r\nContent-Type: application/json\r\n\(headers)\r\n\r\n{\"id\"")
            let (bytes, closed) = connection.receiveUntilClosed(within: 10)
            #expect(String(decoding: bytes, as: UTF8.self).hasPrefix("HTTP/1.1 \(status)"), "\(headers)")
            #expect(closed, "\(headers)")
        }
        #expect(try Curl.request(server.baseURL + "/api/v1/rules/M9", ["-H", "Authorization: Bearer \(token)"]).status == 404)
    }

    // MARK: Pipelining and backpressure

    /// A server that has answered one poll, so its feed cache and buffers are warm before its
    /// memory is measured.
    static func startServerAfterOnePoll(_ workspace: Workspace) throws -> ServerProcess {
        let server = try workspace.startServer()
        #expect(try Curl.request(server.baseURL + "/getexchangemitigations?build=15.2.1118.7").status == 200)
        return server
    }

    @Test func twoHundredThousandPipelinedPollsNeverReadDoNotGrowTheServer() throws {
        let workspace = try Workspace()
        let server = try Self.startServerAfterOnePoll(workspace)
        defer { server.stop() }
        let pid = server.process.processIdentifier
        let before = ProcessUsage.residentBytes(of: pid)

        let connection = try RawConnection(port: server.port, receiveBuffer: 4096)
        let burst = Array(String(repeating: Self.poll, count: 200_000).utf8)
        _ = connection.sendWithoutBlocking(burst, for: 10)
        let grown = ProcessUsage.residentBytes(of: pid) - before
        // Before the fix the server kept every response: 1.77 GB for this burst.
        #expect(grown < 64 << 20, "server RSS grew by \(grown >> 20) MiB")
        #expect(try Curl.request(server.baseURL + "/getexchangemitigations").status == 200)
    }

    @Test func aClientThatSendsButNeverReadsIsNotReadEither() throws {
        let workspace = try Workspace()
        let server = try Self.startServerAfterOnePoll(workspace)
        defer { server.stop() }
        let pid = server.process.processIdentifier
        let before = ProcessUsage.residentBytes(of: pid)

        // A poll every millisecond, slower than the server answers, for at most 8 s, never
        // reading: about 30 MB of responses that only backpressure keeps out of the server.
        let connection = try RawConnection(port: server.port, receiveBuffer: 4096)
        let request = Array(Self.poll.utf8)
        let deadline = Date().addingTimeInterval(8)
        var sent = 0
        while Date() < deadline && sent < 8_000 {
            guard connection.sendWithoutBlocking(request, for: 0.05) == request.count else { break }
            sent += 1
            usleep(1_000)
        }
        let grown = ProcessUsage.residentBytes(of: pid) - before
        #expect(grown < 16 << 20, "server RSS grew by \(grown >> 20) MiB after \(sent) unread polls")
        #expect(try Curl.request(server.baseURL + "/getexchangemitigations").status == 200)
    }

    // MARK: Connection cap

    @Test func atTheCapNewClientsWaitWhileOpenConnectionsAreServed() throws {
        let workspace = try Workspace()
        let server = try ServerProcess(database: workspace.database, arguments: [
            "--rules", workspace.rules, "--max-connections", "8", "--header-timeout", "60", "--idle-timeout", "60",
        ])
        defer { server.stop() }
        let served = try RawConnection(port: server.port)
        try served.send(Self.poll)
        #expect(served.receive(until: "</EOCS>", within: 10).hasPrefix("HTTP/1.1 200"))
        var stalled = try (1...7).map { _ in try RawConnection(port: server.port) }
        // Over the cap: connected through the backlog, not answered.
        let waiting = try (1...4).map { _ in try RawConnection(port: server.port) }
        for connection in waiting { try connection.send(Self.poll) }
        #expect(!waiting[0].receive(until: "</EOCS>", within: 1).contains("200 OK"))

        let pid = server.process.processIdentifier
        let cpu = ProcessUsage.cpuSeconds(of: pid)
        usleep(2_000_000)
        let used = ProcessUsage.cpuSeconds(of: pid) - cpu
        #expect(used < 0.5, "the server used \(used) s of CPU in 2 s while at the cap")

        try served.send(Self.poll)
        #expect(served.receive(until: "</EOCS>", within: 10).hasPrefix("HTTP/1.1 200"), "an open connection was not served at the cap")
        stalled.removeAll()  // closes them: the waiting clients get their turn
        for connection in waiting {
            #expect(connection.receive(until: "</EOCS>", within: 10).hasPrefix("HTTP/1.1 200"))
        }
        #expect(server.log.contains("connection cap reached"))
    }

    @Test func outOfDescriptorsTheListenerBacksOffWithoutSpinning() throws {
        let workspace = try Workspace()
        // 128 descriptors, a cap far above them: accept fails for lack of descriptors.
        let server = try ServerProcess(
            database: workspace.database,
            arguments: ["--rules", workspace.rules, "--max-connections", "1000", "--header-timeout", "60", "--idle-timeout", "60"],
            openFileLimit: 128
        )
        defer { server.stop() }
        #expect(server.log.contains("--max-connections 1000 exceeds"))
        let served = try RawConnection(port: server.port)
        try served.send(Self.poll)
        #expect(served.receive(until: "</EOCS>", within: 10).hasPrefix("HTTP/1.1 200"))

        var flood = try (1...160).map { _ in try RawConnection(port: server.port) }
        usleep(500_000)
        let pid = server.process.processIdentifier
        let cpu = ProcessUsage.cpuSeconds(of: pid)
        usleep(3_000_000)
        let used = ProcessUsage.cpuSeconds(of: pid) - cpu
        // Before the fix: a whole core (about 3 s of CPU in these 3 s).
        #expect(used < 0.6, "the server used \(used) s of CPU in 3 s out of descriptors")
        #expect(server.log.contains("cannot accept connections"))

        try served.send(Self.poll)
        #expect(served.receive(until: "</EOCS>", within: 10).hasPrefix("HTTP/1.1 200"), "an open connection was not served")
        flood.removeAll()
        #expect(try Curl.request(server.baseURL + "/getexchangemitigations").status == 200)
    }
}
