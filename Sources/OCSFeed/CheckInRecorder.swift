import NIOCore
import OCSStorage

/// Records check-ins durably, grouping those that arrive together into one transaction.
///
/// A caller's future completes once its check-in is committed (or the commit failed), so a
/// response sent from it never claims a check-in that could still be lost. It also
/// carries the published rule set's serial, read in the commit's transaction: an identified poll
/// gets the freshness check it needs from the same trip off the event loop.
public final class CheckInRecorder: Sendable {
    private let writes: Coalescer<CheckIn, Int64>

    /// Most check-ins written in one transaction.
    public static let maximumBatch = 512

    /// `committed` hears of each committed batch: its size and how long the commit took.
    public init(store: CheckInStore, committed: @escaping @Sendable (Int, Duration) -> Void = { _, _ in }) {
        writes = Coalescer(label: "ocs.check-in-recorder", maximumBatch: Self.maximumBatch) { checkIns in
            let clock = ContinuousClock()
            let started = clock.now
            let serial = try store.record(checkIns)
            committed(checkIns.count, clock.now - started)
            return serial
        }
    }

    /// Returns once the check-ins queued before the call are committed and their polls' results
    /// are queued on their event loops.
    public func finishPending() async {
        await writes.idle()
    }

    /// Queues a check-in; the future completes on `eventLoop` after the transaction holding it
    /// commits, with the rule-set serial as that transaction saw it.
    public func record(_ checkIn: CheckIn, on eventLoop: any EventLoop) -> EventLoopFuture<Int64> {
        writes.submit(checkIn, on: eventLoop)
    }
}
