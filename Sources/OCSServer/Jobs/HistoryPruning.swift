import Foundation
import Logging
import NIOPosix
import OCSStorage
import ServiceLifecycle

/// Prunes host history and forgets hosts off the request path, as a service of the server's
/// `ServiceGroup`: once at start, then every `interval`, deleting history older than `retention`
/// (see `CheckInStore.pruneHistory`) and hosts that have not polled for `forgetHostsAfter` (see
/// `CheckInStore.forgetHosts`). Of the servers sharing one database, only the one that claims
/// the period (`ServerState.claim`) runs its pass. A graceful stop ends the wait between passes;
/// a pass under way finishes its current short batch transaction first.
public struct HistoryPruning: Service {
    let store: CheckInStore
    let state: ServerState
    let retention: Duration
    let forgetHostsAfter: Duration
    let interval: Duration
    let threadPool: NIOThreadPool
    let logger: Logger

    public init(
        store: CheckInStore, state: ServerState, retention: Duration, forgetHostsAfter: Duration, interval: Duration = .seconds(3600),
        threadPool: NIOThreadPool, logger: Logger
    ) {
        self.store = store
        self.state = state
        self.retention = retention
        self.forgetHostsAfter = forgetHostsAfter
        self.interval = interval
        self.threadPool = threadPool
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await prune()
            // Cancelled by the graceful stop: the loop ends instead of waiting out the interval.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// The job's name in `job_runs`: with its settings, so a server started with others (a
    /// shorter retention) runs its pass at once rather than waiting out another's period.
    var job: String {
        "history-pruning retain=\(retention.components.seconds)s forget=\(forgetHostsAfter.components.seconds)s every=\(interval.components.seconds)s"
    }

    /// One pass, on the thread pool (the stores block), if this server claims the period.
    func prune() async {
        let now = Date.now
        let cutoff = now.addingTimeInterval(-TimeInterval(retention.components.seconds))
        let unseenSince = now.addingTimeInterval(-TimeInterval(forgetHostsAfter.components.seconds))
        do {
            let period = TimeInterval(interval.components.seconds)
            guard try await threadPool.runIfActive({ [state, job] in try state.claim(job: job, every: period, at: now) }) else {
                logger.debug("history pruning: another server has this period")
                return
            }
            let deleted = try await threadPool.runIfActive { [store] in try store.pruneHistory(before: cutoff) }
            if deleted > 0 {
                logger.info("pruned host history", metadata: ["entries": "\(deleted)", "olderThanDays": "\(retention.components.seconds / 86400)"])
            }
            let forgotten = try await threadPool.runIfActive { [store] in try store.forgetHosts(lastSeenBefore: unseenSince) }
            if forgotten > 0 {
                logger.info("forgot hosts not seen for a while", metadata: ["hosts": "\(forgotten)", "unseenForDays": "\(forgetHostsAfter.components.seconds / 86400)"])
            }
        } catch {
            logger.error("pruning host history failed", metadata: ["error": "\(error)"])
        }
    }
}
