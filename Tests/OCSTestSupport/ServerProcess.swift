import Foundation

/// A running `ocs serve` on 127.0.0.1 and an ephemeral port, stopped when released.
public final class ServerProcess: Sendable {
    public let process: Process
    public let port: Int
    public let logPath: String
    /// Where the server's standard output goes.
    public let outputPath: String

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Starts the real binary and waits (bounded) for its `listening on` line. `openFileLimit`
    /// runs it under `ulimit -n` with that limit. Check-ins without a host credential are
    /// recorded (`--check-ins any`) unless `arguments` choose: most tests poll as curl does, and
    /// those of enrollment start the server with the default, `--check-ins enrolled`.
    public init(database: String, arguments: [String] = [], openFileLimit: Int? = nil, timeout: TimeInterval = 30) throws {
        process = Process()
        let acceptance = arguments.contains("--check-ins") ? [] : ["--check-ins", "any"]
        let serve = ["serve", "--host", "127.0.0.1", "--port", "0", "--db", database] + acceptance + arguments
        if let openFileLimit {
            // The shell sets the limit and replaces itself with ocs: the pid stays the server's.
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "ulimit -n \(openFileLimit) && exec \"$0\" \"$@\"", Command.ocs] + serve
        } else {
            process.executableURL = URL(fileURLWithPath: Command.ocs)
            process.arguments = serve
        }
        logPath = FileManager.default.temporaryDirectory.appendingPathComponent("ocs-server-\(UUID().uuidString).log").path
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        // Standard output (the listening line, the access log) goes to a file nobody has to drain.
        outputPath = logPath + ".out"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardInput = FileHandle.nullDevice
        try process.run()

        let deadline = Date().addingTimeInterval(timeout)
        var found: Int?
        while found == nil && Date() < deadline && process.isRunning {
            usleep(10_000)
            let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }),
               let port = line.split(separator: ":").last.flatMap({ Int($0) }) {
                found = port
            }
        }
        guard let found else {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            throw ServerDidNotStart(status: process.isRunning ? nil : process.terminationStatus, log: log)
        }
        port = found
    }

    /// The server's log so far (stderr).
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// The server's standard output so far: the listening line and the access log.
    public var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// SIGTERM, then wait (bounded) for a clean exit; returns the exit status.
    @discardableResult
    public func stop(timeout: TimeInterval = 15) -> Int32 {
        if process.isRunning { process.terminate() }
        return waitForExit(timeout: timeout)
    }

    /// SIGKILL: the process gets no chance to flush anything.
    public func kill() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        _ = waitForExit(timeout: 15)
    }

    private func waitForExit(timeout: TimeInterval) -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill() }
        try? FileManager.default.removeItem(atPath: logPath)
        try? FileManager.default.removeItem(atPath: outputPath)
    }
}

public struct ServerDidNotStart: Error, CustomStringConvertible {
    public let status: Int32?
    public let log: String
    public var description: String { "ocs serve did not start (exit \(status.map(String.init) ?? "none")):\n\(log)" }
}
