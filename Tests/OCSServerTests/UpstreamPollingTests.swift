import Foundation
import Logging
import OCSOperations
import OCSStorage
import OCSTestSupport
import Synchronization
import Testing
@testable import OCSServer

/// A failing fetch of Microsoft's document is counted each time and logged once per streak.
struct UpstreamPollingTests {
    /// Keeps every message logged at `error` or above, and every notice.
    final class Messages: Sendable {
        let lines = Mutex<[String]>([])
    }

    struct Recording: LogHandler {
        let messages: Messages
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            messages.lines.withLock { $0.append("\(event.level) \(event.message)") }
        }
    }

    struct Unreachable: Error {}

    @Test func aFailureStreakIsLoggedOnceAndCountedEachTime() async throws {
        let messages = Messages()
        let logger = Logger(label: "upstream-test") { _ in Recording(messages: messages) }
        let operations = Operations(database: try TestDatabase.fresh())
        let metrics = ServerMetrics()
        let polling = UpstreamPolling(
            upstream: operations.upstream, url: URL(string: "http://127.0.0.1:9/getexchangemitigations")!, interval: .seconds(3600),
            metrics: metrics, threadPool: .singleton, logger: logger, download: { _ in throw Unreachable() }
        )
        var failures = 0
        for _ in 0..<3 { failures = await polling.fetch(failuresBefore: failures) }
        #expect(failures == 3)
        let errors = messages.lines.withLock { $0 }.filter { $0.hasPrefix("error ") }
        #expect(errors.count == 1 && errors[0].contains("fetching Microsoft's document failed"), "\(errors)")
        #expect(String(decoding: metrics.exposition(), as: UTF8.self).contains("ocs_upstream_fetches_total{outcome=\"failed\"} 3"))
        // Working again says so once, and ends the streak.
        let genuine = try Data(contentsOf: URL(fileURLWithPath: SharedData.microsoftFeed))
        let recovered = UpstreamPolling(
            upstream: operations.upstream, url: polling.url, interval: .seconds(3600), metrics: metrics, threadPool: .singleton, logger: logger,
            download: { _ in genuine }
        )
        #expect(await recovered.fetch(failuresBefore: failures) == 0)
        #expect(messages.lines.withLock { $0 }.contains { $0.hasPrefix("notice fetching Microsoft's document works again") })
        #expect(try operations.upstream.status().current?.configIDs == ["PING1"])
        // A document that does not verify is refused, and said each time: someone may be forging it.
        let forged = UpstreamPolling(
            upstream: operations.upstream, url: polling.url, interval: .seconds(3600), metrics: metrics, threadPool: .singleton, logger: logger,
            download: { _ in Data(genuine.prefix(genuine.count / 2)) }
        )
        let once = await forged.fetch(failuresBefore: 0)
        let twice = await forged.fetch(failuresBefore: once)
        #expect(once == 1 && twice == 2)
        #expect(messages.lines.withLock { $0 }.filter { $0.hasPrefix("warning the document fetched as Microsoft's does not verify") }.count == 2)
        #expect(String(decoding: metrics.exposition(), as: UTF8.self).contains("ocs_upstream_fetches_total{outcome=\"refused\"} 2"))
    }
}
