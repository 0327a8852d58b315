import Logging
import NIOCore
import NIOPosix
import OCSFeed
import OCSStorage
import Synchronization

/// Keeps the feed service's rule-set serial fresh against commits by other processes
/// (`ocs rules import` on the same database, other replicas on one PostgreSQL database), so
/// polls themselves never wait for the database:
/// - on a database that announces its commits (`SerialAnnouncing`: PostgreSQL), the serial is read
///   when a change is announced, and every `fallbackInterval` in case an announcement was lost;
/// - otherwise (SQLite) it is read every `interval`.
/// Reads run on the thread pool; a change is served within one read of its announcement or timer.
final class SerialWatcher: Sendable {
    /// How often the serial is read without announcements: well inside the 250 ms
    /// docs/feed-protocol.md promises.
    static let interval: TimeAmount = .milliseconds(50)
    /// How often it is read besides announcements: a change whose announcement was lost (the
    /// listening connection down) is still served within a second.
    static let fallbackInterval: TimeAmount = .milliseconds(900)

    private let feeds: FeedService
    private let database: any SQLDatabase
    private let threadPool: NIOThreadPool
    private let logger: Logger
    private let timer = Mutex<RepeatedTask?>(nil)
    private let listener = Mutex<Task<Void, Never>?>(nil)
    /// Whether the last read failed, so a failing database is logged once, not 20 times a second.
    private let failing = Atomic<Bool>(false)
    /// Set by `stop`: an announcement heard after it must not schedule work on loops shutting down.
    private let stopped = Atomic<Bool>(false)
    /// Reads asked for by announcements: one runs at a time, and announcements heard meanwhile
    /// make one more read after it, however many they are.
    private let announcedReads = Mutex(AnnouncedReads.idle)

    private enum AnnouncedReads {
        case idle, reading, readingThenAgain
    }

    init(feeds: FeedService, database: any SQLDatabase, threadPool: NIOThreadPool, logger: Logger) {
        self.feeds = feeds
        self.database = database
        self.threadPool = threadPool
        self.logger = logger
    }

    /// Starts reading on `eventLoop`'s timer (each read waits for the previous one), and listening
    /// when the database announces changes.
    func start(on eventLoop: any EventLoop) {
        let announcing = database as? any SerialAnnouncing
        let delay = announcing == nil ? Self.interval : Self.fallbackInterval
        let repeated = eventLoop.scheduleRepeatedAsyncTask(initialDelay: .zero, delay: delay) { [self] _ in
            read(on: eventLoop)
        }
        timer.withLock { $0 = repeated }
        if let announcing {
            let listening = announcing.listenForSerialChanges { [self] in
                announced(on: eventLoop)
            }
            listener.withLock { $0 = listening }
        }
    }

    private func announced(on eventLoop: any EventLoop) {
        let start = announcedReads.withLock { state in
            switch state {
            case .idle: state = .reading; return true
            case .reading, .readingThenAgain: state = .readingThenAgain; return false
            }
        }
        if start { readAnnounced(on: eventLoop) }
    }

    private func readAnnounced(on eventLoop: any EventLoop) {
        guard !stopped.load(ordering: .acquiring) else { return }
        read(on: eventLoop).whenComplete { [self] _ in
            let again = announcedReads.withLock { state in
                switch state {
                case .readingThenAgain: state = .reading; return true
                case .reading, .idle: state = .idle; return false
                }
            }
            if again { readAnnounced(on: eventLoop) }
        }
    }

    private func read(on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
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

    func stop() {
        stopped.store(true, ordering: .releasing)
        timer.withLock { $0?.cancel(); $0 = nil }
        listener.withLock { $0?.cancel(); $0 = nil }
    }
}
