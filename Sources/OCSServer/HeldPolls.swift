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
/// Polls whose check-in the server recorded (its fleet, by `--check-ins`) may fill the cap; every
/// other poll (anonymous, or a check-in refused) may take half of it at most, so nobody outside the
/// fleet can take every place from the agents that need them.
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
        /// Of `held`, polls not of the fleet.
        var outsiders = 0
        /// Places taken by polls being listed (between `hold`'s two locks), so loops listing at
        /// once cannot pass the cap together.
        var reserved = 0
        var lastID: UInt64 = 0
        /// A wake pass is running; `wakeAgain`: the serial moved again during it.
        var waking = false
        var wakeAgain = false
        /// The server is stopping: nothing more is held.
        var stopped = false
    }

    private struct Held: Sendable {
        let id: UInt64
        let eventLoop: any EventLoop
        let promise: EventLoopPromise<HTTPResponse>
        let build: ExchangeBuild?
        let host: PollingHost
        /// The feed the client holds (its `ETag` matched) as last looked up for it.
        var feed: Feed
        let form: FeedEndpoint.Representation
        let hostKey: String?
        let seconds: Int
        let member: Bool
        let connection: ConnectionClosing?
        var timer: Scheduled<Void>?

        /// The answer with `feed`: `304` when it is the one the client holds, else `200` and the
        /// feed; both say the wait was applied.
        func response(_ feed: Feed) -> HTTPResponse {
            var response = form.response(feed)
            response.headers.add(name: "Preference-Applied", value: "wait=\(seconds)")
            response.hostKey = hostKey
            response.wasHeld = true
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
    /// (the cap is reached, for the fleet or for outsiders, or the server is stopping): the caller
    /// answers at once. `member`: the poll's check-in was recorded. `connection` is told when the
    /// poll's connection closes. Called on `eventLoop`.
    func hold(
        feed: Feed, build: ExchangeBuild?, host: PollingHost, form: FeedEndpoint.Representation, hostKey: String?, seconds: Int,
        member: Bool, connection: ConnectionClosing?, on eventLoop: any EventLoop
    ) -> EventLoopFuture<HTTPResponse>? {
        let id: UInt64? = state.withLock { state in
            guard !state.stopped, state.held.count + state.reserved < capacity, member || state.outsiders < capacity / 2 else { return nil }
            state.reserved += 1
            state.lastID += 1
            return state.lastID
        }
        guard let id else {
            metrics.pollsNotHeld.increment()
            return nil
        }
        let promise = eventLoop.makePromise(of: HTTPResponse.self)
        let timer = eventLoop.scheduleTask(in: .seconds(Int64(seconds))) { self.release(id) }
        let poll = Held(
            id: id, eventLoop: eventLoop, promise: promise, build: build, host: host, feed: feed, form: form, hostKey: hostKey, seconds: seconds,
            member: member, connection: connection, timer: timer
        )
        let listed = state.withLock { state in
            state.reserved -= 1
            // A stop between the two locks answered every poll listed: this one is answered now.
            guard !state.stopped else { return false }
            state.held[id] = poll
            if !member { state.outsiders += 1 }
            metrics.heldPolls.set(Int64(state.held.count))
            return true
        }
        guard listed else {
            timer.cancel()
            promise.succeed(poll.response(feed))
            return promise.futureResult
        }
        connection?.onClose { self.release(id) }
        // A change learnt between this poll's lookup and now woke everyone but this poll.
        if let known = feeds.knownSerial, known > feed.serial { serialAdvanced() }
        return promise.futureResult
    }

    /// Takes polls out, counting them off. Under the lock.
    private func remove(_ ids: some Sequence<UInt64>, from state: inout State) -> [Held] {
        var taken: [Held] = []
        for id in ids {
            guard let poll = state.held.removeValue(forKey: id) else { continue }
            if !poll.member { state.outsiders -= 1 }
            taken.append(poll)
        }
        metrics.heldPolls.set(Int64(state.held.count))
        return taken
    }

    /// Answers one held poll with the feed it holds (`304`): its wait passed or its connection closed.
    private func release(_ id: UInt64) {
        guard let poll = state.withLock({ remove(CollectionOfOne(id), from: &$0).first }) else { return }
        Self.answer([(poll, poll.feed)])
    }

    /// Answers every held poll at once, and holds no more: the server is stopping (its listener
    /// already closed, so the agents' next polls go to another replica or wait for the restart).
    func releaseAll() {
        let polls = state.withLock { state in
            state.stopped = true
            return remove(Array(state.held.keys), from: &state)
        }
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
    /// serial is not the one its client holds is answered with it. (Every feed carries its serial,
    /// so each held poll of an older serial is answered.) Blocking.
    private func wake() {
        while true {
            let snapshot = state.withLock { Array($0.held) }
            var changed: [(id: UInt64, feed: Feed)] = []
            for (id, poll) in snapshot {
                // Read for each poll: a serial learnt during the pass is served at once, and the
                // feed service's cache, already moved to it, is not asked for an older one.
                guard let serial = feeds.knownSerial, poll.feed.serial < serial else { continue }
                do {
                    let feed = try feeds.feed(for: poll.build, host: poll.host, serial: serial)
                    if feed.etag != poll.feed.etag { changed.append((id, feed)) }
                } catch {
                    // The rest stay held; their waits bound them, and the next change tries again.
                    logger.error("held polls' feeds could not be had", metadata: ["error": "\(error)"])
                    break
                }
            }
            let newFeeds = Dictionary(changed.map { ($0.id, $0.feed) }, uniquingKeysWith: { first, _ in first })
            let woken = state.withLock { remove(changed.map(\.id), from: &$0) }
            if !woken.isEmpty {
                metrics.heldPollsWoken.increment(by: Int64(woken.count))
                Self.answer(woken.compactMap { poll in newFeeds[poll.id].map { (poll, $0) } })
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
                    poll.connection?.clear()
                    poll.promise.succeed(poll.response(feed))
                }
            }
        }
    }
}
