import NIOCore
import OCSDomain
import OCSStorage

/// Records check-ins durably, grouping those that arrive together into one transaction.
///
/// A caller's future completes once its check-in is committed (or the commit failed), so a
/// response sent from it never claims a check-in that could still be lost. It also
/// carries the published rule set's serial, read in the commit's transaction: an identified poll
/// gets the freshness check it needs from the same trip off the event loop.
public final class CheckInRecorder: Sendable {
    /// One check-in's result: its outcome and the serial its transaction saw.
    public struct Recorded: Sendable, Equatable {
        public let serial: Int64
        public let outcome: CheckInOutcome
    }

    private let writes: Coalescer<CheckIn, Recorded>

    /// Most check-ins written in one transaction.
    public static let maximumBatch = 512

    /// `committed` hears of each committed batch: its outcomes and how long the commit took.
    public init(store: CheckInStore, committed: @escaping @Sendable (CheckInBatch, Duration) -> Void = { _, _ in }) {
        writes = Coalescer(label: "ocs.check-in-recorder", maximumBatch: Self.maximumBatch) { checkIns in
            let clock = ContinuousClock()
            let started = clock.now
            let batch = try store.record(checkIns)
            committed(batch, clock.now - started)
            return batch.outcomes.map { Recorded(serial: batch.serial, outcome: $0) }
        }
    }

    /// Returns once the check-ins queued before the call are committed and their polls' results
    /// are queued on their event loops.
    public func finishPending() async {
        await writes.idle()
    }

    /// Queues a check-in; the future completes on `eventLoop` after the transaction holding it
    /// commits, with its outcome and the rule-set serial as that transaction saw it.
    public func record(_ checkIn: CheckIn, on eventLoop: any EventLoop) -> EventLoopFuture<Recorded> {
        writes.submit(checkIn, on: eventLoop)
    }
}
