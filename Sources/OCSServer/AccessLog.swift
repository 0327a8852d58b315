import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// One line per answered request, through swift-log: remote address, method, path (never the
/// query or a header, so never a token), status, body bytes, duration, and the host key of a
/// check-in. Off when built without a logger.
public struct AccessLog: Sendable {
    private let logger: Logger?

    public init(logger: Logger?) {
        self.logger = logger
    }

    public static let off = AccessLog(logger: nil)

    func record(_ request: HTTPRequestHead, remoteAddress: String?, status: HTTPResponseStatus, bytes: Int, started: NIODeadline, hostKey: String?) {
        guard let logger else { return }
        let path = request.uri.prefix { $0 != "?" && $0 != "#" }
        var metadata: Logger.Metadata = [
            "remote": "\(remoteAddress ?? "-")",
            "method": "\(request.method.rawValue)",
            "path": "\(path.prefix(200))",
            "status": "\(status.code)",
            "bytes": "\(bytes)",
            "ms": "\(String(format: "%.2f", Double((NIODeadline.now() - started).nanoseconds) / 1_000_000))",
        ]
        if let hostKey { metadata["host"] = "\(hostKey)" }
        logger.info("request", metadata: metadata)
    }
}

/// Writes log lines to standard output or a file on a thread of its own, so a slow disk or a
/// full pipe never stalls an event loop. At most `capacity` lines wait; past that new lines are
/// dropped and counted, and the count is written once there is room again.
public final class LineWriter: Sendable {
    private let output: FileHandle
    private let state = Mutex(State())
    private let ready = DispatchSemaphore(value: 0)
    private let capacity: Int

    private struct State {
        var lines: [String] = []
        var dropped = 0
    }

    /// Appends to `path` (created mode 0640 if missing).
    public static func file(_ path: String, capacity: Int = 10_000) throws -> LineWriter {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else {
            throw AccessLogFileError(path: path, reason: String(cString: strerror(errno)))
        }
        return LineWriter(output: FileHandle(fileDescriptor: descriptor, closeOnDealloc: true), capacity: capacity)
    }

    public static func standardOutput(capacity: Int = 10_000) -> LineWriter {
        LineWriter(output: FileHandle.standardOutput, capacity: capacity)
    }

    private init(output: FileHandle, capacity: Int) {
        self.output = output
        self.capacity = capacity
        let thread = Thread { [self] in self.drain() }
        thread.name = "ocs-log-writer"
        thread.start()
    }

    public func write(_ line: String) {
        let queued = state.withLock { state in
            guard state.lines.count < capacity else {
                state.dropped += 1
                return false
            }
            state.lines.append(line)
            return true
        }
        if queued { ready.signal() }
    }

    private func drain() {
        while true {
            ready.wait()
            let (lines, dropped) = state.withLock { state in
                defer { state.lines.removeAll(keepingCapacity: true); state.dropped = 0 }
                return (state.lines, state.dropped)
            }
            guard !lines.isEmpty || dropped > 0 else { continue }
            var text = lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")
            if dropped > 0 { text += "(\(dropped) log lines dropped: the output could not keep up)\n" }
            try? output.write(contentsOf: Data(text.utf8))
        }
    }
}

/// The access log file cannot be opened.
public struct AccessLogFileError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "cannot write the access log \(path): \(reason)" }
}

/// A swift-log handler that formats like `StreamLogHandler` (time, level, label, metadata,
/// message) and hands each line to a `LineWriter`.
public struct LineLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let writer: LineWriter

    public init(label: String, writer: LineWriter) {
        self.label = label
        self.writer = writer
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let time = Date().formatted(.iso8601.year().month().day().timeZone(separator: .omitted).time(includingFractionalSeconds: true))
        writer.write("\(time) \(event.level) \(label): \(fields)\(fields.isEmpty ? "" : " ")\(event.message)")
    }
}
