import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// One line per answered request, through swift-log: remote address, method, path (never the
/// query or a header, so never a token), status, body bytes, duration, and the host key of a
/// check-in. Off when built without a logger or writer.
public struct AccessLog: Sendable {
    private enum Output: Sendable {
        case logger(Logger)
        case lines(LineWriter, label: String)
    }

    private let output: Output?

    public init(logger: Logger?) {
        output = logger.map(Output.logger)
    }

    /// Lines straight to `writer`, in `LineLogHandler`'s format, without building swift-log
    /// metadata: one line per request, and the general path cost a fifth of a poll's CPU.
    public init(writer: LineWriter, label: String = "ocs.access") {
        output = .lines(writer, label: label)
    }

    public static let off = AccessLog(logger: nil)

    func record(_ request: HTTPRequestHead, remoteAddress: String?, status: HTTPResponseStatus, bytes: Int, started: NIODeadline, hostKey: String?) {
        guard let output else { return }
        let path = request.uri.prefix { $0 != "?" && $0 != "#" }.prefix(200)
        let elapsed = (NIODeadline.now() - started).nanoseconds
        switch output {
        case .lines(let writer, let label):
            // The fields in LineLogHandler's order (sorted by key), then the message.
            var line = LogTime.now()
            line.reserveCapacity(160)
            line += " info \(label): bytes=\(bytes)"
            if let hostKey { line += " host=\(hostKey)" }
            line += " method=\(request.method.rawValue) ms=\(Self.milliseconds(elapsed)) path=\(path) remote=\(remoteAddress ?? "-") status=\(status.code) request"
            writer.write(line)
        case .logger(let logger):
            var metadata: Logger.Metadata = [
                "remote": "\(remoteAddress ?? "-")",
                "method": "\(request.method.rawValue)",
                "path": "\(path)",
                "status": "\(status.code)",
                "bytes": "\(bytes)",
                "ms": "\(Self.milliseconds(elapsed))",
            ]
            if let hostKey { metadata["host"] = "\(hostKey)" }
            logger.info("request", metadata: metadata)
        }
    }

    /// Nanoseconds as milliseconds with two decimals, rounded (`%.2f` without `String(format:)`).
    static func milliseconds(_ nanoseconds: Int64) -> String {
        let hundredths = (max(0, nanoseconds) + 5_000) / 10_000
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}

/// Log line times as `LineLogHandler` writes them (`2026-11-23T18:40:03.898Z`, UTC), formatted
/// with `gmtime_r` instead of a `Date.FormatStyle`, which cost more than the rest of the line.
enum LogTime {
    static func now() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func digits(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
        }
        return "\(digits(parts.tm_year + 1900, 4))-\(digits(parts.tm_mon + 1, 2))-\(digits(parts.tm_mday, 2))T"
            + "\(digits(parts.tm_hour, 2)):\(digits(parts.tm_min, 2)):\(digits(parts.tm_sec, 2)).\(digits(Int32(now.tv_nsec / 1_000_000), 3))Z"
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
        /// The writer thread found nothing to write and waits on `ready`: the next line wakes
        /// it. Lines arriving while it writes are taken in its next round without a wake-up,
        /// so a busy server pays one semaphore signal per batch, not per line.
        var sleeping = false
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
        let wake = state.withLock { state in
            guard state.lines.count < capacity else {
                state.dropped += 1
                return false
            }
            state.lines.append(line)
            defer { state.sleeping = false }
            return state.sleeping
        }
        if wake { ready.signal() }
    }

    /// Pause after each write, so lines arrive in batches: at most this late in the log.
    static let gatheringMicroseconds: useconds_t = 20_000

    private func drain() {
        while true {
            let batch: (lines: [String], dropped: Int)? = state.withLock { state in
                guard !state.lines.isEmpty || state.dropped > 0 else {
                    state.sleeping = true
                    return nil
                }
                defer { state.lines.removeAll(keepingCapacity: true); state.dropped = 0 }
                return (state.lines, state.dropped)
            }
            guard let (lines, dropped) = batch else {
                ready.wait()
                continue
            }
            var text = lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")
            if dropped > 0 { text += "(\(dropped) log lines dropped: the output could not keep up)\n" }
            try? output.write(contentsOf: Data(text.utf8))
            // Let lines gather before the next round: on a busy server each round then writes
            // hundreds of lines and no request pays for waking this thread.
            usleep(Self.gatheringMicroseconds)
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
