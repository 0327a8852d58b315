import Foundation
import OCSTestSupport
import Testing

/// Running ocs as a service: settings from everywhere, health, the access log, the pinned
/// signing certificate and honest audit actors, through the real binary.
struct ProductionServingEndToEndTests {
    @Test func settingsComeFromTheCommandLineThenTheEnvironmentThenTheFileThenDefaults() throws {
        let workspace = try Workspace()
        let file = try workspace.write("port: 7000\nidleTimeout: 5\nheaderTimeout: 6\nhost: 0.0.0.0\nallowPlainHttp: true\n", to: "ocs.yaml")
        let shown = try Command.run("/usr/bin/env", [
            "OCS_PORT=9000", "OCS_IDLE_TIMEOUT=8", Command.ocs, "config", "show", "--config", file, "--idle-timeout", "7",
        ])
        #expect(shown.status == 0, "\(shown.stderr)")
        func row(_ key: String) -> [String] {
            shown.output.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
                .first { $0.first == key } ?? []
        }
        #expect(row("idleTimeout") == ["idleTimeout", "7", "command", "line"])
        #expect(row("port") == ["port", "9000", "environment"])
        #expect(row("headerTimeout") == ["headerTimeout", "6", "config", "file"])
        #expect(row("bodyTimeout") == ["bodyTimeout", "30", "default"])
        #expect(row("host") == ["host", "0.0.0.0", "config", "file"])

        // A bad value is refused with the place it came from; a misspelt key is not ignored.
        let badEnvironment = try Command.run("/usr/bin/env", ["OCS_PORT=eighty", Command.ocs, "serve", "--db", workspace.database])
        #expect(badEnvironment.status != 0)
        #expect(badEnvironment.stderr.contains("OCS_PORT: 'eighty' is not a whole number"))
        let misspelt = try workspace.write("signingkey: /etc/ocs/key.pem\n", to: "typo.yaml")
        let refused = try workspace.ocs("serve", "--config", misspelt, "--db", workspace.database)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("unknown setting 'signingkey'"))
        #expect(!FileManager.default.fileExists(atPath: workspace.database), "a refused start created the database")
    }

    @Test func healthAndReadinessNeedNoTokenAndRevealNothing() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        let live = try Curl.request(server.baseURL + "/healthz")
        #expect(live.status == 200)
        let ready = try Curl.request(server.baseURL + "/readyz")
        #expect(ready.status == 200)
        #expect(ready.text.contains("\"ready\""))
        for response in [live, ready] {
            #expect(!response.text.contains(workspace.folder.path))
            #expect(!response.text.contains("0.5"))
            #expect(response.header("Server") == nil)
        }
        #expect(try Curl.request(server.baseURL + "/readyz", ["-X", "POST"]).status == 405)
    }

    @Test func readinessFailsOnceTheSigningCertificateExpires() throws {
        let workspace = try Workspace()
        let signer = try ExpiredCertificate(in: workspace.folder.appendingPathComponent("short"), notValidAfter: Date().addingTimeInterval(3))
        let server = try ServerProcess(database: workspace.database, arguments: [
            "--rules", workspace.rules, "--signing-key", signer.key, "--signing-cert", signer.certificate,
        ])
        defer { server.stop() }
        #expect(try Curl.request(server.baseURL + "/readyz").status == 200)
        usleep(4_000_000)
        let ready = try Curl.request(server.baseURL + "/readyz")
        #expect(ready.status == 503)
        #expect(ready.text.contains("signing certificate"))
        #expect(try Curl.request(server.baseURL + "/healthz").status == 200)
    }

    @Test func theAccessLogHasOneLinePerRequestAndNeverAToken() throws {
        let workspace = try Workspace()
        let logFile = workspace.folder.appendingPathComponent("access.log").path
        let server = try ServerProcess(database: workspace.database, arguments: ["--rules", workspace.rules, "--access-log", logFile])
        defer { server.stop() }
        let token = try workspace.ocs("tokens", "create", "--name", "logged", "--role", "reader", "--db", workspace.database)
            .output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try Curl.request(server.baseURL + "/getexchangemitigations?build=15.2.1118.7&server=EX-LOG").status == 200)
        #expect(try Curl.request(server.baseURL + "/api/v1/rules", ["-H", "Authorization: Bearer \(token)"]).status == 200)
        #expect(try Curl.request(server.baseURL + "/nowhere").status == 404)
        var lines: [String] = []
        let deadline = Date().addingTimeInterval(10)
        while lines.count < 3 && Date() < deadline {
            usleep(50_000)
            lines = ((try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
        #expect(lines.count == 3, "\(lines)")
        #expect(lines.first?.contains("path=/getexchangemitigations") == true)
        #expect(lines.first?.contains("status=200") == true)
        #expect(lines.first.map { $0.contains("host=") && $0.contains("ex-log") } == true, "a check-in names its host")
        #expect(lines.first?.contains("build=") == false, "the query string is not logged")
        #expect(lines.contains { $0.contains("path=/api/v1/rules") && $0.contains("method=GET") })
        #expect(lines.contains { $0.contains("status=404") })
        let everything = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
        #expect(!everything.contains(token))
        #expect(!server.output.contains(token))
        #expect(!server.log.contains(token))
    }

    @Test func aDifferentSigningKeyIsRefusedUnlessRotatedAndNothingIsCreated() throws {
        let workspace = try Workspace()
        let production = workspace.folder.appendingPathComponent("production").path
        #expect(try workspace.ocs("keys", "init", "--dir", production).status == 0)
        let productionKey = ["--signing-key", production + "/signing-key.pem", "--signing-cert", production + "/signing-cert.pem"]
        var server = try ServerProcess(database: workspace.database, arguments: ["--rules", workspace.rules] + productionKey)
        #expect(server.stop() == 0)

        // The production key's flags forgotten: refused before a development key is made.
        let dataFolder = URL(fileURLWithPath: workspace.database).deletingLastPathComponent().path
        // SQLite's own -wal and -shm files come and go with connections; any other new file is ours.
        func files() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: dataFolder).filter { !$0.hasSuffix("-wal") && !$0.hasSuffix("-shm") }.sorted()
        }
        let before = try files()
        let forgotten = try workspace.ocs("serve", "--port", "0", "--db", workspace.database)
        #expect(forgotten.status != 0)
        #expect(forgotten.stderr.contains("no signing key was given"))
        let after = try files()
        #expect(after == before, "a refused start left files behind: \(before) -> \(after)")

        // Another key: refused, naming both fingerprints.
        let other = workspace.folder.appendingPathComponent("other").path
        #expect(try workspace.ocs("keys", "init", "--dir", other).status == 0)
        let otherKey = ["--signing-key", other + "/signing-key.pem", "--signing-cert", other + "/signing-cert.pem"]
        let refused = try workspace.ocs(["serve", "--port", "0", "--db", workspace.database] + otherKey)
        #expect(refused.status != 0)
        #expect(refused.stderr.components(separatedBy: "SHA-256 ").count == 3, "\(refused.stderr)")

        // A deliberate rotation starts, and is audited.
        server = try ServerProcess(database: workspace.database, arguments: ["--rules", workspace.rules, "--rotate-signing-key"] + otherKey)
        #expect(server.stop() == 0)
        #expect(try workspace.ocs("audit", "--db", workspace.database).output.contains("signing.rotate"))
        // And from then on the new key is the pinned one.
        server = try ServerProcess(database: workspace.database, arguments: ["--rules", workspace.rules] + otherKey)
        #expect(server.stop() == 0)
    }

    @Test func theAuditActorIsTheRealUserNotUSER() throws {
        let workspace = try Workspace()
        try workspace.createDatabase()
        let account = try Command.run("/usr/bin/id", ["-un"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        let created = try Command.run("/usr/bin/env", ["USER=mallory", "LOGNAME=mallory", Command.ocs, "tokens", "create", "--name", "t1", "--role", "reader", "--db", workspace.database])
        #expect(created.status == 0)
        let audit = try workspace.ocs("audit", "--db", workspace.database).output
        #expect(audit.contains("local:\(account)"))
        #expect(!audit.contains("mallory"))
        if getuid() == 0 {
            _ = try Command.run("/usr/bin/env", ["SUDO_USER=alice", Command.ocs, "tokens", "create", "--name", "t2", "--role", "reader", "--db", workspace.database])
            #expect(try workspace.ocs("audit", "--db", workspace.database).output.contains("local:root (sudo from alice)"))
        }
    }
}

/// `/metrics`, judged by Prometheus's own `promtool`.
struct MetricsEndToEndTests {
    static func scrape(_ server: ServerProcess, _ options: [String] = [], scheme: String = "http") throws -> String {
        try Curl.request("\(scheme)://127.0.0.1:\(server.port)/metrics", options).text
    }

    @Test func metricsPassPromtoolAndCountWithoutNamingHosts() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        for name in ["EX-METRICS-1", "EX-METRICS-2"] {
            #expect(try Curl.request(server.baseURL + "/getexchangemitigations?build=15.2.1118.7&server=\(name)").status == 200)
        }
        #expect(try Curl.request(server.baseURL + "/getexchangemitigations?build=not-a-build").status == 400)
        let token = try workspace.ocs("tokens", "create", "--name", "metrics", "--role", "reader", "--db", workspace.database)
            .output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try Curl.request(server.baseURL + "/api/v1/rules", ["-H", "Authorization: Bearer \(token)"]).status == 200)

        let text = try Self.scrape(server)
        let file = try workspace.write(text, to: "metrics.txt")
        let promtool = try Command.run("/bin/sh", ["-c", "promtool check metrics < '\(file)'"])
        #expect(promtool.status == 0, "promtool: \(promtool.output)\(promtool.stderr)")
        #expect(text.contains("ocs_polls_total{status=\"200\"} 2"))
        #expect(text.contains("ocs_polls_total{status=\"400\"} 1"))
        #expect(text.contains("ocs_check_ins_recorded_total 2"))
        #expect(text.contains("ocs_known_hosts 2"))
        #expect(text.contains("ocs_request_duration_seconds_count{route=\"api\"} 1"))
        #expect(text.contains("ocs_feed_signatures_total"))
        #expect(!text.contains("EX-METRICS") && !text.lowercased().contains("ex-metrics"), "metrics name a host")
        #expect(!text.contains(token))
    }

    @Test func tlsHandshakeFailuresAreCounted() throws {
        let workspace = try Workspace()
        let certificate = try TLSEndToEndTests.ServerCertificate(in: workspace.folder.appendingPathComponent("tls"))
        let server = try TLSEndToEndTests.startTLSServer(workspace, certificate)
        defer { server.stop() }
        _ = try Command.run("curl", ["--silent", "--max-time", "10", "http://127.0.0.1:\(server.port)/metrics"])
        let text = try Self.scrape(server, ["--cacert", certificate.certificate], scheme: "https")
        #expect(text.contains("ocs_tls_handshake_failures_total 1"), "\(text.split(separator: "\n").filter { $0.contains("tls") })")
    }
}
