import Foundation
#if canImport(Glibc)
import Glibc
#endif
import OCSTestSupport
import Testing

/// `ocs agent poll` over TLS with a pinned CA and through an HTTP CONNECT proxy (a small Python
/// proxy, an independent implementation, that logs each CONNECT it tunnels).
struct AgentTransportEndToEndTests {
    /// A CONNECT-only proxy on 127.0.0.1 that tunnels to loopback targets and logs each request line.
    final class ConnectProxy {
        let process = Process()
        let port: Int
        let logPath: String

        static let script = #"""
        import socket, sys, threading
        log = open(sys.argv[1], "a", buffering=1)
        server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0)); server.listen(16)
        print(server.getsockname()[1], flush=True)
        def pipe(a, b):
            try:
                while True:
                    data = a.recv(65536)
                    if not data: break
                    b.sendall(data)
            except OSError: pass
            finally:
                for s in (a, b):
                    try: s.shutdown(socket.SHUT_RDWR)
                    except OSError: pass
        def handle(client):
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 16384:
                chunk = client.recv(4096)
                if not chunk: client.close(); return
                head += chunk
            line = head.split(b"\r\n")[0].decode("latin-1")
            log.write(line + "\n")
            parts = line.split(" ")
            if len(parts) != 3 or parts[0] != "CONNECT" or not parts[1].startswith("127.0.0.1:"):
                client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"); client.close(); return
            upstream = socket.create_connection(("127.0.0.1", int(parts[1].split(":")[1])))
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
            pipe(upstream, client)
        while True:
            connection, _ = server.accept()
            threading.Thread(target=handle, args=(connection,), daemon=True).start()
        """#

        init(in folder: URL) throws {
            let scriptPath = folder.appendingPathComponent("proxy.py").path
            try Data(Self.script.utf8).write(to: URL(fileURLWithPath: scriptPath))
            logPath = folder.appendingPathComponent("proxy.log").path
            let outputPath = folder.appendingPathComponent("proxy.out").path
            _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
            process.executableURL = URL(fileURLWithPath: try Command.which("python3"))
            process.arguments = [scriptPath, logPath]
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
            process.standardInput = FileHandle.nullDevice
            try process.run()
            var found: Int?
            for _ in 0..<500 where found == nil {
                usleep(10_000)
                found = (try? String(contentsOfFile: outputPath, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            }
            guard let found else { process.terminate(); throw CommandFailedError(message: "the proxy did not start") }
            port = found
        }

        var requests: [String] {
            ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

        /// SIGKILL: a child may inherit a signal mask that blocks SIGTERM, and the proxy keeps nothing.
        func stop() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    @Test func pollsOverTLSTrustingOnlyThePinnedCAAndThroughAConnectProxy() throws {
        let workspace = try Workspace()
        let tls = try TLSEndToEndTests.ServerCertificate(in: workspace.folder.appendingPathComponent("tls"))
        let server = try TLSEndToEndTests.startTLSServer(workspace, tls)
        defer { server.stop() }
        let base = "https://127.0.0.1:\(server.port)"
        let cert = workspace.folder.appendingPathComponent("data/dev-signing-cert.pem").path
        let state = workspace.folder.appendingPathComponent("host-state").path

        let pinned = try AgentPollEndToEndTests.poll(workspace, server: base, cert: cert, state: state, ["--tls-ca", tls.certificate])
        #expect(pinned.status == 0, "\(pinned.stderr)")
        #expect(pinned.output.contains("configs: M1,PING1"))

        // Another CA: the server's certificate is not trusted.
        let other = try TLSEndToEndTests.ServerCertificate(in: workspace.folder.appendingPathComponent("other"))
        let untrusted = try AgentPollEndToEndTests.poll(workspace, server: base, cert: cert, state: state, ["--tls-ca", other.certificate])
        #expect(untrusted.status != 0)
        #expect(untrusted.stderr.contains("TLS:"), "\(untrusted.stderr)")

        // Through the proxy, given as an option and from HTTPS_PROXY.
        let proxy = try ConnectProxy(in: workspace.folder)
        defer { proxy.stop() }
        let proxied = try AgentPollEndToEndTests.poll(workspace, server: base, cert: cert, state: state,
                                                      ["--tls-ca", tls.certificate, "--proxy", "http://127.0.0.1:\(proxy.port)"])
        #expect(proxied.status == 0, "\(proxied.stderr)")
        let fromEnvironment = try Command.run("/usr/bin/env", AgentPollEndToEndTests.unsetProxies + ["-u", "NO_PROXY", "-u", "no_proxy", "HTTPS_PROXY=http://127.0.0.1:\(proxy.port)", Command.ocs, "agent", "poll",
            "--server", base, "--tls-ca", tls.certificate, "--cert", cert, "--state", state, "--build", "15.1.2507.6", "--name", "EX16-01"])
        #expect(fromEnvironment.status == 0, "\(fromEnvironment.stderr)")
        // A poll the server holds for its wait, through TLS and the tunnel: the proxy passes the
        // held request and its late answer.
        let waited = try AgentPollEndToEndTests.poll(workspace, server: base, cert: cert, state: state,
                                                     ["--tls-ca", tls.certificate, "--proxy", "http://127.0.0.1:\(proxy.port)", "--wait", "2"])
        #expect(waited.status == 0, "\(waited.stderr)")
        #expect(waited.output.hasPrefix("unchanged: serial") && !waited.output.contains("did not hold"), "\(waited.output)")
        #expect(proxy.requests == Array(repeating: "CONNECT 127.0.0.1:\(server.port) HTTP/1.1", count: 3))

        // A proxy that refuses the tunnel is named as the cause.
        let refused = try AgentPollEndToEndTests.poll(workspace, server: "https://localhost:\(server.port)", cert: cert, state: state,
                                                      ["--tls-ca", tls.certificate, "--proxy", "127.0.0.1:\(proxy.port)"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("proxy: the proxy refused CONNECT localhost:\(server.port): HTTP/1.1 403"), "\(refused.stderr)")
    }

    @Test func aServerThatNeverAnswersTimesOutAndAnEarlyCloseIsNamed() throws {
        let workspace = try Workspace()
        // A socket that listens but never accepts: the kernel completes the handshake, nobody answers.
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
        #expect(bound == 0 && listen(descriptor, 4) == 0)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let arguments = ["--cert", SharedData.microsoftRoot, "--state", workspace.folder.appendingPathComponent("s").path,
                         "--build", "15.2.1118.7", "--name", "EX", "--timeout", "2"]
        let silent = try Command.run("/usr/bin/env", AgentPollEndToEndTests.unsetProxies + [Command.ocs, "agent", "poll", "--server", "http://127.0.0.1:\(port)"] + arguments)
        #expect(silent.status != 0)
        #expect(silent.stderr.contains("timeout: no complete response within 2 s"), "\(silent.stderr)")

        // A server that reads the request and hangs up.
        let closing = try LoopbackListener()
        defer { closing.stop() }
        let closed = try Command.run("/usr/bin/env", AgentPollEndToEndTests.unsetProxies + [Command.ocs, "agent", "poll", "--server", "http://127.0.0.1:\(closing.port)"] + arguments)
        #expect(closed.status != 0)
        #expect(closed.stderr.contains("unreachable:"), "\(closed.stderr)")
        #expect(closing.requests.first?.hasPrefix("GET /getexchangemitigations?build=15.2.1118.7&server=EX&") == true, "\(closing.requests)")
    }
}
