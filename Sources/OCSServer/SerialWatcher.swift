import Logging
import NIOCore
import NIOPosix
import OCSFeed
import Synchronization

/// Keeps the feed service's rule-set serial fresh against commits by other processes
/// (`ocs rules import` on the same database): reads it every `interval` on the thread pool, so
/// such a change is served within one interval and a read, and polls themselves never wait for
/// the database.
final class SerialWatcher: Sendable {
    /// How often the serial is read: well inside the 250 ms docs/feed-protocol.md promises.
    static let interval: TimeAmount = .milliseconds(50)

    private let feeds: FeedService
    private let threadPool: NIOThreadPool
    private let logger: Logger
    private let task = Mutex<RepeatedTask?>(nil)
    /// Whether the last read failed, so a failing database is logged once, not 20 times a second.
    private let failing = Atomic<Bool>(false)

    init(feeds: FeedService, threadPool: NIOThreadPool, logger: Logger) {
        self.feeds = feeds
        self.threadPool = threadPool
        self.logger = logger
    }

    /// Starts reading on `eventLoop`'s timer; each read waits for the previous one.
    func start(on eventLoop: any EventLoop) {
        let repeated = eventLoop.scheduleRepeatedAsyncTask(initialDelay: .zero, delay: Self.interval) { [self] _ in
            threadPool.runIfActive(eventLoop: eventLoop) { [feeds] in try feeds.refreshSerial() }
                .map { _ in
                    if self.failing.exchange(false, ordering: .relaxed) { self.logger.notice("reading the rule-set serial works again") }
                }
                .recover { error in
                    // Keep watching: a failed read must not end the timer.
                    if !self.failing.exchange(true, ordering: .relaxed) {
                        self.logger.error("reading the rule-set serial failed; changes by other processes wait for it", metadata: ["error": "\(error)"])
                    }
                }
        }
        task.withLock { $0 = repeated }
    }

    func stop() {
        task.withLock { $0?.cancel(); $0 = nil }
    }
}
