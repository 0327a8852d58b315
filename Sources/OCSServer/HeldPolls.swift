import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import OCSDomain
import OCSFeed
import Synchronization

/// Polls that asked to wait for a change (`Prefer: wait=SECONDS` with the `ETag` they hold in
/// `If-None-Match`), held until their feed changes, their wait passes, their connection closes or
/// the server stops.
///
/// A held poll costs its connection, one entry here and one timer on its event loop: no thread.
/// A change of serial wakes them in one pass off the event loops, which looks up each host's feed
/// at the new serial in turn: the first lookup of a distinct feed renders and signs it, every
/// other host waiting for the same feed finds it in memory, so each is signed once however many
/// hosts wait for it. The answers go back to each event loop in one task.
final class HeldPolls: Sendable {
    /// Most polls held at once; past it a poll asking to wait is answered at once, so waiting
    /// agents cannot take every connection from the API, the dashboard and plain polls.
    let capacity: Int
    private let feeds: FeedService
    private let threadPool: NIOThreadPool
    private let metrics: ServerMetrics
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var held: [UInt64: Held] = [:]
        var lastID: UInt64 = 0
        /// A wake pass is running; `wakeAgain`: the serial moved again during it.
        var waking = false
        var wakeAgain = false
        /// The server is stopping: nothing more is held.
        var stopped = false
    }

    private struct Held: Sendable {
        let eventLoop: any EventLoop
        let promise: EventLoopPromise<HTTPResponse>
        let build: ExchangeBuild?
        let host: PollingHost
        /// The feed the client holds (its `ETag` matched) as last looked up for it.
        var feed: Feed
        let form: FeedEndpoint.Representation
        let hostKey: String?
        let seconds: Int
        var timer: Scheduled<Void>?

        /// The answer with `feed`: `304` when it is the one the client holds, else `200` and the
        /// feed; both say the wait was applied.
        func response(_ feed: Feed) -> HTTPResponse {
            var response = form.response(feed)
            response.headers.add(name: "Preference-Applied", value: "wait=\(seconds)")
            response.hostKey = hostKey
            return response
        }
    }

    init(capacity: Int, feeds: FeedService, threadPool: NIOThreadPool, metrics: ServerMetrics, logger: Logger) {
        self.capacity = capacity
        self.feeds = feeds
        self.threadPool = threadPool
        self.metrics = metrics
        self.logger = logger
        feeds.observeSerial { [weak self] _ in self?.serialAdvanced() }
    }

    var count: Int {
        state.withLock { $0.held.count }
    }

    /// Holds a poll whose client already has `feed`, for `seconds`; nil when none may be held now
    /// (the cap is reached or the server is stopping): the caller answers at once. `closed`
    /// completes when the poll's connection closes. Called on `eventLoop`.
    func hold(
        feed: Feed, build: ExchangeBuild?, host: PollingHost, form: FeedEndpoint.Representation, hostKey: String?, seconds: Int,
        closed: EventLoopFuture<Void>?, on eventLoop: any EventLoop
    ) -> EventLoopFuture<HTTPResponse>? {
        let promise = eventLoop.makePromise(of: HTTPResponse.self)
        let poll = Held(
            eventLoop: eventLoop, promise: promise, build: build, host: host, feed: feed, form: form, hostKey: hostKey, seconds: seconds, timer: nil
        )
        let entry: (id: UInt64, count: Int)? = state.withLock { state in
            guard !state.stopped, state.held.count < capacity else { return nil }
            state.lastID += 1
            state.held[state.lastID] = poll
            return (state.lastID, state.held.count)
        }
        guard let entry else {
            // Never handed out: completed so it does not leak.
            promise.succeed(form.response(feed))
            metrics.pollsNotHeld.increment()
            return nil
        }
        metrics.heldPolls.set(Int64(entry.count))
        let id = entry.id
        let timer = eventLoop.scheduleTask(in: .seconds(Int64(seconds))) { self.release(id) }
        state.withLock { $0.held[id]?.timer = timer }
        closed?.whenComplete { _ in self.release(id) }
        // A change learnt between this poll's lookup and now woke everyone but this poll.
        if let known = feeds.knownSerial, known > feed.serial { serialAdvanced() }
        return promise.futureResult
    }

    /// Answers one held poll with the feed it holds (`304`): its wait passed or its connection closed.
    private func release(_ id: UInt64) {
        guard let (poll, count) = state.withLock({ state in state.held.removeValue(forKey: id).map { ($0, state.held.count) } }) else { return }
        metrics.heldPolls.set(Int64(count))
        poll.timer?.cancel()
        poll.promise.succeed(poll.response(poll.feed))
    }

    /// Answers every held poll at once, and holds no more: the server is stopping.
    func releaseAll() {
        let polls = state.withLock { state in
            state.stopped = true
            defer { state.held = [:] }
            return Array(state.held.values)
        }
        metrics.heldPolls.set(Int64(0))
        Self.answer(polls.map { ($0, $0.feed) })
    }

    /// Starts a wake pass off the event loops, or asks the running one to go again.
    private func serialAdvanced() {
        let start = state.withLock { state -> Bool in
            if state.waking {
                state.wakeAgain = true
                return false
            }
            guard !state.held.isEmpty else { return false }
            state.waking = true
            return true
        }
        guard start else { return }
        threadPool.submit { work in
            guard case .active = work else {
                self.state.withLock { $0.waking = false }
                return
            }
            self.wake()
        }
    }

    /// One pass, repeated while the serial keeps moving: every held poll whose feed at the known
    /// serial is not the one its client holds is answered with it. Blocking.
    private func wake() {
        while true {
            if let serial = feeds.knownSerial {
                let snapshot = state.withLock { Array($0.held) }
                var changed: [(id: UInt64, feed: Feed)] = []
                var unchanged: [(id: UInt64, feed: Feed)] = []
                for (id, poll) in snapshot where poll.feed.serial < serial {
                    do {
                        let feed = try feeds.feed(for: poll.build, host: poll.host, serial: serial)
                        if feed.etag == poll.feed.etag { unchanged.append((id, feed)) } else { changed.append((id, feed)) }
                    } catch {
                        // Each poll stays held; its wait bounds it, and the next change tries again.
                        logger.error("a held poll's feed could not be had", metadata: ["error": "\(error)"])
                        break
                    }
                }
                let (woken, count) = state.withLock { state in
                    // The same document at a later serial: kept, so the next pass skips it.
                    for (id, feed) in unchanged { state.held[id]?.feed = feed }
                    let woken = changed.compactMap { id, feed in state.held.removeValue(forKey: id).map { ($0, feed) } }
                    return (woken, state.held.count)
                }
                if !woken.isEmpty {
                    metrics.heldPolls.set(Int64(count))
                    metrics.heldPollsWoken.increment(by: Int64(woken.count))
                    Self.answer(woken)
                }
            }
            let again = state.withLock { state in
                if state.wakeAgain {
                    state.wakeAgain = false
                    return true
                }
                state.waking = false
                return false
            }
            guard again else { return }
        }
    }

    /// Answers polls from their event loops, one task per loop.
    private static func answer(_ polls: [(Held, Feed)]) {
        var byLoop: [ObjectIdentifier: (loop: any EventLoop, polls: [(Held, Feed)])] = [:]
        for (poll, feed) in polls {
            byLoop[ObjectIdentifier(poll.eventLoop), default: (poll.eventLoop, [])].polls.append((poll, feed))
        }
        for (loop, polls) in byLoop.values {
            loop.execute {
                for (poll, feed) in polls {
                    poll.timer?.cancel()
                    poll.promise.succeed(poll.response(feed))
                }
            }
        }
    }
}
