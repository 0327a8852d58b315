import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Python's `http.server` serving a folder on 127.0.0.1 and an ephemeral port: a plain file server
/// nobody here wrote, standing in for a server that sends no entity tag, or for Microsoft's OCS
/// (which serves a static, pre-signed file). Counts the requests it answered. Stopped when released.
final class StaticSite {
    let folder: URL
    let port: Int
    private let process: Process
    private let log: String

    /// Serves `folder` (created if missing); its scratch files go in `workspace`.
    init(serving folder: URL, in workspace: Workspace) throws {
        self.folder = folder
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let script = """
            import http.server, sys
            class Handler(http.server.SimpleHTTPRequestHandler):
                def log_message(self, format, *args):
                    sys.stderr.write("request\\n"); sys.stderr.flush()
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: Handler(*a, directory=sys.argv[1]))
            print(server.server_address[1], flush=True)
            server.serve_forever()
            """
        let name = "static-\(UUID().uuidString.prefix(8))"
        let scriptPath = try workspace.write(script, to: "\(name).py")
        log = workspace.folder.appendingPathComponent("\(name).log").path
        let portFile = workspace.folder.appendingPathComponent("\(name).port").path
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        _ = FileManager.default.createFile(atPath: portFile, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", scriptPath, folder.path]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: portFile))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try process.run()
        var port: Int?
        _ = AgentRunEndToEndTests.eventually(within: 10) {
            port = (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            return port != nil
        }
        guard let port else {
            kill(process.processIdentifier, SIGKILL)
            throw StaticSiteFailed()
        }
        self.port = port
    }

    /// `http://127.0.0.1:PORT/` and `path`.
    func url(_ path: String) -> String { "http://127.0.0.1:\(port)/\(path)" }

    /// How many requests it has answered.
    var requests: Int {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").filter { $0 == "request" }.count
    }

    func stop() {
        guard process.isRunning else { return }
        // SIGKILL: the test process's children may inherit a mask that blocks SIGTERM.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }
}

struct StaticSiteFailed: Error, CustomStringConvertible {
    var description: String { "python3 http.server did not say its port within 10 s" }
}
