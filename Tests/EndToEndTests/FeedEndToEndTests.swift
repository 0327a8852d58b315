import Foundation
import OCSTestSupport
import Testing

@Suite(.serialized)
struct FeedEndToEndTests {
    static let feedPath = "/getexchangemitigations"

    @Test func servesTheRightConfigsForRealBuilds() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        let cases: [(query: String, ids: [String])] = [
            ("build=15.2.1118.7", ["M1", "PING1"]),            // 2019 CU12: exposed until Oct22SU
            ("build=15.2.1118.15", ["PING1"]),                 // 2019 CU12 Oct22SU
            ("build=15.2.986.29", ["M1", "PING1"]),            // 2019 CU11 Aug22SU
            ("build=15.2.986.30", ["PING1"]),                  // 2019 CU11 Oct22SU
            ("build=15.2.922.27", ["M1", "PING1"]),            // 2019 CU10 never got Oct22SU
            ("build=15.2.1258.12", ["PING1"]),                 // 2019 CU13 came after it
            ("build=15.1.2507.6", ["M1", "PING1"]),            // 2016 CU23
            ("build=15.1.2507.13", ["PING1"]),                 // 2016 CU23 Oct22SU
            ("build=15.2.2562.17", ["PING1"]),                 // SE RTM: M1 is not for SE
            ("version=Version%2015.2%20(Build%20986.29)", ["M1", "PING1"]),
            ("", ["PING1"]),                                   // no build: unrestricted rules only
        ]
        for (query, ids) in cases {
            let response = try Curl.request(server.baseURL + Self.feedPath + "?" + query)
            #expect(response.status == 200, "\(query)")
            #expect(response.header("Content-Type") == "application/xml; charset=utf-8")
            #expect(response.header("Content-Length") == String(response.body.count))
            #expect(try XMLLint.configIDs(response.body) == ids, "\(query)")
        }
    }

    @Test func pathIsCaseInsensitiveAndHeadHasNoBody() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        let get = try Curl.request(server.baseURL + "/GetExchangeMitigations?build=15.2.1118.7")
        #expect(get.status == 200)
        #expect(try XMLLint.configIDs(get.body) == ["M1", "PING1"])
        let head = try Curl.request(server.baseURL + "/getexchangemitigations?build=15.2.1118.7", ["--head"])
        #expect(head.status == 200)
        #expect(head.header("Content-Length") == String(get.body.count))
        // curl --head stores the header block as the output: nothing of the document may follow it.
        #expect(!head.text.contains("<EOCS"))
        // A HEAD answered with a body would corrupt the next response on the same connection.
        let url = server.baseURL + "/getexchangemitigations?build=15.2.1118.7"
        let reused = try Command.run("curl", ["--silent", "--verbose", "--head", url, "--next", "--silent", url])
        #expect(reused.stderr.contains("Re-using existing connection") || reused.stderr.contains("Reusing existing"))
        #expect(reused.output.hasSuffix(get.text))
    }

    @Test func keepsConnectionsAlive() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        let url = server.baseURL + Self.feedPath + "?build=15.2.1118.7"
        let result = try Command.run("curl", ["--silent", "--verbose", "--output", "/dev/null", "--output", "/dev/null", url, url])
        #expect(result.status == 0)
        #expect(result.stderr.contains("Re-using existing connection") || result.stderr.contains("Reusing existing"))
    }

    @Test func feedCommandPrintsExactlyWhatTheServerSends() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        for build in ["15.2.1118.7", "15.1.2507.13", "15.2.2562.17"] {
            let served = try Curl.request(server.baseURL + Self.feedPath + "?build=\(build)")
            let printed = try workspace.ocs("feed", "--build", build, "--db", workspace.database)
            #expect(printed.status == 0)
            // Signed in the same window from the same issued time: the same bytes, signature
            // included (RSA PKCS#1 v1.5 is deterministic), as another replica would serve them.
            #expect(printed.stdout == served.body)
            #expect(String(decoding: served.body, as: UTF8.self).contains("<Config "))
        }
    }

    /// A commit by another process reaches the server by its serial watcher: served within
    /// 250 ms. Polled until it appears, for at most a few seconds, without asserting a time.
    @Test func rulesImportedByAnotherProcessAreServedWithinTheWatchInterval() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        let url = server.baseURL + Self.feedPath + "?build=15.2.1544.4"
        #expect(try XMLLint.configIDs(Curl.request(url).body) == ["PING1"])
        let rule = try workspace.write("""
            id: M9
            description: test rule from another process
            state: published
            actions:
              - type: DisableService
                service: MSExchangeTest
            """, to: "new/M9.yaml")
        #expect(try workspace.ocs("rules", "import", rule, "--db", workspace.database).status == 0)
        let deadline = Date().addingTimeInterval(5)
        var served: [String] = []
        for _ in 0..<250 where Date() < deadline {
            served = try XMLLint.configIDs(Curl.request(url).body)
            if served == ["M9", "PING1"] { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(served == ["M9", "PING1"])
    }
}

struct IdleConnectionTests {
    @Test func silentConnectionsAreClosedAfterTheIdleTimeout() throws {
        let workspace = try Workspace()
        let server = try ServerProcess(database: workspace.database, arguments: ["--rules", workspace.rules, "--idle-timeout", "1"])
        defer { server.stop() }
        // Closed by the server within the (bounded) wait, rather than left open.
        #expect(try RawConnection(port: server.port).receiveUntilClosed(within: 10).closed)
        // A served connection stays usable within the timeout.
        #expect(try Curl.request(server.baseURL + "/getexchangemitigations").status == 200)
    }
}

struct ShutdownTests {
    @Test func stopsCleanlyOnSIGTERM() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        #expect(try Curl.request(server.baseURL + "/getexchangemitigations?server=EX01").status == 200)
        #expect(server.stop() == 0)
        #expect(server.log.contains("stopping: no new connections"))
        #expect(server.log.contains("stopped"))
        // NIO's complaint about work scheduled on a stopped event loop was printed on every stop.
        #expect(!server.log.contains("Cannot schedule tasks"), "\(server.log)")
        #expect(try workspace.ocs("hosts", "--db", workspace.database).output.contains("EX01"))
    }

    @Test func sighupWithoutTLSReloadsNothingAndKeepsServing() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        kill(server.process.processIdentifier, SIGHUP)
        let deadline = Date().addingTimeInterval(10)
        while !server.log.contains("nothing to reload") && Date() < deadline { usleep(20_000) }
        #expect(server.log.contains("nothing to reload"))
        #expect(try Curl.request(server.baseURL + "/getexchangemitigations").status == 200)
    }

    @Test func aRequestInFlightAtSIGTERMIsAnsweredBeforeTheServerExits() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        let token = try workspace.ocs("tokens", "create", "--name", "shutdown", "--role", "publisher", "--db", workspace.database)
            .output.trimmingCharacters(in: .whitespacesAndNewlines)
        let body = #"{"id": "M9", "description": "Sent across a shutdown", "actions": [{"type": "DoNothing"}]}"#
        let connection = try RawConnection(port: server.port)
        try connection.send("PUT /api/v1/rules/M9 HTTP/1.1\r\nHost: ocs\r\nAuthorization: Bearer \(token)\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body.prefix(20))
        // An idle keep-alive connection is closed by the stop rather than waited for.
        let idle = try RawConnection(port: server.port)
        usleep(300_000)
        kill(server.process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while !server.log.contains("stopping: no new connections") && Date() < deadline { usleep(20_000) }
        #expect(idle.receiveUntilClosed(within: 5).closed)
        // The rest of the body after the signal: the request is still taken and answered.
        try connection.send(String(body.dropFirst(20)))
        let (answer, closed) = connection.receiveUntilClosed(within: 10)
        #expect(String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 201"), "\(String(decoding: answer, as: UTF8.self))")
        #expect(closed)
        #expect(server.stop() == 0)
        #expect(try workspace.ocs("rules", "show", "M9", "--db", workspace.database).status == 0)
    }
}
