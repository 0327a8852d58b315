import Foundation

/// What a finished command printed and how it exited.
public struct CommandResult: Sendable {
    public let status: Int32
    public let stdout: Data
    public let stderr: String

    public var output: String { String(decoding: stdout, as: UTF8.self) }
}

/// Runs programs the way a person at a shell would: the real `ocs` binary, curl, xmllint.
public enum Command {
    /// The `ocs` executable built beside the test bundle (or `$OCS_BINARY`).
    public static var ocs: String {
        if let override = ProcessInfo.processInfo.environment["OCS_BINARY"] { return override }
        let tests = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
        var folder = tests.deletingLastPathComponent()
        // On Linux the runner is `.build/debug/ocsPackageTests.xctest`; on macOS it sits inside the bundle.
        while folder.path != "/" && !FileManager.default.fileExists(atPath: folder.appendingPathComponent("ocs").path) {
            folder.deleteLastPathComponent()
        }
        return folder.appendingPathComponent("ocs").path
    }

    /// Runs `executable` with `arguments` to completion, killing it after `timeout` seconds.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], timeout: TimeInterval = 60) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : try which(executable))
        process.arguments = arguments
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ocs-cmd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let out = scratch.appendingPathComponent("out"), err = scratch.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            throw CommandTimedOut(command: ([executable] + arguments).joined(separator: " "))
        }
        process.waitUntilExit()
        return CommandResult(
            status: process.terminationStatus,
            stdout: try Data(contentsOf: out),
            stderr: String(decoding: try Data(contentsOf: err), as: UTF8.self)
        )
    }

    /// The absolute path of a program on `PATH`.
    public static func which(_ name: String) throws -> String {
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw ProgramNotFound(name: name)
    }
}

public struct CommandTimedOut: Error, CustomStringConvertible {
    public let command: String
    public var description: String { "timed out: \(command)" }
}

public struct ProgramNotFound: Error, CustomStringConvertible {
    public let name: String
    public var description: String { "\(name) is not installed: run bash scripts/test.sh (the README's test command), which installs it" }
}
