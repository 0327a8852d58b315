import Foundation
import OCSTestSupport
import Testing

/// `ocs serve` over TLS, judged by curl and openssl s_client.
struct TLSEndToEndTests {
    /// A self-signed server certificate for 127.0.0.1, made by openssl.
    struct ServerCertificate {
        let certificate: String, key: String

        init(in folder: URL, commonName: String = "ocs test", subjectAltName: String = "IP:127.0.0.1,DNS:localhost") throws {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            certificate = folder.appendingPathComponent("cert.pem").path
            key = folder.appendingPathComponent("key.pem").path
            let result = try Command.run("openssl", [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", "2",
                "-subj", "/CN=\(commonName)", "-addext", "subjectAltName=\(subjectAltName)",
            ])
            guard result.status == 0 else { throw CommandFailedError(message: result.stderr) }
        }
    }

    static func startTLSServer(_ workspace: Workspace, _ certificate: ServerCertificate) throws -> ServerProcess {
        try ServerProcess(database: workspace.database, arguments: [
            "--rules", workspace.rules, "--tls-cert", certificate.certificate, "--tls-key", certificate.key,
        ])
    }

    static func sClient(_ port: Int, _ options: [String]) throws -> CommandResult {
        try Command.run("/bin/sh", ["-c", "echo | openssl s_client -connect 127.0.0.1:\(port) " + options.joined(separator: " ") + " 2>&1"], timeout: 20)
    }

    @Test func pollsAndAPICallsWorkOverTLSAndOldOrPlainClientsAreRefused() throws {
        let workspace = try Workspace()
        let certificate = try ServerCertificate(in: workspace.folder.appendingPathComponent("tls"))
        let server = try Self.startTLSServer(workspace, certificate)
        defer { server.stop() }
        let base = "https://127.0.0.1:\(server.port)"

        let poll = try Curl.request(base + "/getexchangemitigations?build=15.2.1118.7&server=EX-TLS", ["--cacert", certificate.certificate])
        #expect(poll.status == 200)
        #expect(try XMLLint.configIDs(poll.body) == ["M1", "PING1"])
        let token = try workspace.ocs("tokens", "create", "--name", "tls-reader", "--role", "reader", "--db", workspace.database)
            .output.trimmingCharacters(in: .whitespacesAndNewlines)
        let hosts = try Curl.request(base + "/api/v1/hosts", ["--cacert", certificate.certificate, "-H", "Authorization: Bearer \(token)"])
        #expect(hosts.status == 200)
        #expect(hosts.text.contains("EX-TLS"))

        // TLS 1.2 with an AEAD suite and ALPN http/1.1, as Exchange's EM service connects.
        let modern = try Self.sClient(server.port, ["-tls1_2", "-alpn", "http/1.1"])
        #expect(modern.output.contains("Protocol  : TLSv1.2"))
        #expect(modern.output.contains("ALPN protocol: http/1.1"))
        #expect(modern.output.contains("-GCM-") || modern.output.contains("CHACHA20"))
        // TLS 1.1 refused by the server, even when the client lowers its own security level.
        let old = try Self.sClient(server.port, ["-tls1_1", "-cipher", "'DEFAULT:@SECLEVEL=0'"])
        #expect(old.output.contains("alert protocol version"), "\(old.output)")
        // A CBC suite without forward secrecy is not offered over TLS 1.2.
        let weak = try Self.sClient(server.port, ["-tls1_2", "-cipher", "AES128-SHA"])
        #expect(!weak.output.contains("Cipher is AES128-SHA"), "\(weak.output)")

        // Plain HTTP to the TLS port gets no answer and does not disturb the server.
        let plain = try Command.run("curl", ["--silent", "--max-time", "10", "http://127.0.0.1:\(server.port)/getexchangemitigations"])
        #expect(plain.status != 0)
        #expect(try Curl.request(base + "/getexchangemitigations", ["--cacert", certificate.certificate]).status == 200)
    }

    @Test func refusesToStartWithBadTLSFilesAndCreatesNothing() throws {
        let workspace = try Workspace()
        let good = try ServerCertificate(in: workspace.folder.appendingPathComponent("good"))
        let other = try ServerCertificate(in: workspace.folder.appendingPathComponent("other"))
        let expired = try ExpiredCertificate(in: workspace.folder.appendingPathComponent("expired"))
        let garbage = workspace.folder.appendingPathComponent("garbage.pem").path
        try Data("not a certificate".utf8).write(to: URL(fileURLWithPath: garbage))
        let cases: [(arguments: [String], message: String)] = [
            (["--tls-cert", good.certificate, "--tls-key", other.key], "does not match the certificate"),
            (["--tls-cert", expired.certificate, "--tls-key", expired.key], "expired on"),
            (["--tls-cert", garbage, "--tls-key", good.key], "garbage.pem: expected PEM certificates"),
            (["--tls-cert", good.certificate, "--tls-key", garbage], "garbage.pem: not a PEM private key"),
            (["--tls-cert", workspace.folder.appendingPathComponent("missing.pem").path, "--tls-key", good.key], "missing.pem: cannot read the file: no such file"),
            (["--tls-cert", good.certificate], "give both the TLS certificate and key"),
        ]
        for (arguments, message) in cases {
            let result = try workspace.ocs(["serve", "--port", "0", "--db", workspace.database, "--rules", workspace.rules] + arguments)
            #expect(result.status != 0)
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: workspace.database), "a refused start created the database")
    }

    @Test func plainHTTPOffLoopbackNeedsToBeAllowed() throws {
        let workspace = try Workspace()
        let refused = try workspace.ocs(["serve", "--host", "0.0.0.0", "--port", "0", "--db", workspace.database, "--rules", workspace.rules])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("in clear"))
        let server = try ServerProcess(database: workspace.database, arguments: ["--rules", workspace.rules, "--allow-plain-http"])
        server.stop()
    }

    @Test func sighupReloadsTheCertificateWithoutDroppingConnections() throws {
        let workspace = try Workspace()
        let first = try ServerCertificate(in: workspace.folder.appendingPathComponent("first"), commonName: "first")
        let second = try ServerCertificate(in: workspace.folder.appendingPathComponent("second"), commonName: "second")
        // The server reads the files at these paths; the test replaces their contents.
        let live = try ServerCertificate(in: workspace.folder.appendingPathComponent("live"), commonName: "live")
        try FileManager.default.removeItem(atPath: live.certificate)
        try FileManager.default.removeItem(atPath: live.key)
        try FileManager.default.copyItem(atPath: first.certificate, toPath: live.certificate)
        try FileManager.default.copyItem(atPath: first.key, toPath: live.key)
        let server = try Self.startTLSServer(workspace, live)
        defer { server.stop() }

        // A connection opened before the reload, kept open across it.
        let session = try OpenSSLSession(port: server.port)
        #expect(try session.request("GET /getexchangemitigations HTTP/1.1\r\nHost: ocs\r\n\r\n").contains("</EOCS>"))

        try FileManager.default.removeItem(atPath: live.certificate)
        try FileManager.default.removeItem(atPath: live.key)
        try FileManager.default.copyItem(atPath: second.certificate, toPath: live.certificate)
        try FileManager.default.copyItem(atPath: second.key, toPath: live.key)
        kill(server.process.processIdentifier, SIGHUP)
        let deadline = Date().addingTimeInterval(10)
        while !server.log.contains("reloaded the TLS certificate") && Date() < deadline { usleep(50_000) }
        #expect(server.log.contains("reloaded the TLS certificate"))

        #expect(try Self.sClient(server.port, []).output.contains("CN = second"))
        #expect(try session.request("GET /getexchangemitigations HTTP/1.1\r\nHost: ocs\r\n\r\n").contains("</EOCS>"), "the open connection was dropped")
        session.close()
    }
}

/// A TLS connection through `openssl s_client`, kept open across several requests.
final class OpenSSLSession {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()

    init(port: Int) throws {
        process.executableURL = URL(fileURLWithPath: try Command.which("openssl"))
        process.arguments = ["s_client", "-quiet", "-connect", "127.0.0.1:\(port)"]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        _ = fcntl(output.fileHandleForReading.fileDescriptor, F_SETFL, O_NONBLOCK)
    }

    /// Sends `text` and returns what arrives until a feed's end, the stream's end or 10 s.
    func request(_ text: String) throws -> String {
        input.fileHandleForWriting.write(Data(text.utf8))
        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && !String(decoding: received, as: UTF8.self).contains("</EOCS>") {
            let count = read(output.fileHandleForReading.fileDescriptor, &buffer, buffer.count)
            if count > 0 { received.append(contentsOf: buffer[..<count]) } else if count == 0 { break } else { usleep(20_000) }
        }
        return String(decoding: received, as: UTF8.self)
    }

    func close() {
        try? input.fileHandleForWriting.close()
        // s_client -quiet ignores the end of its input, and SIGTERM may be inherited as ignored.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { close() }
}
