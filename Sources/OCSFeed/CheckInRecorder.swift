import OCSStorage

/// Records check-ins durably, grouping those that arrive together into one transaction.
///
/// A caller's completion runs once its check-in is committed (or the commit failed), so a
/// response sent from the completion never claims a check-in that could still be lost.
public final class CheckInRecorder: Sendable {
    public typealias Completion = @Sendable (Result<Void, any Error>) -> Void

    private let writes: Coalescer<CheckIn, Void>

    /// Most check-ins written in one transaction.
    public static let maximumBatch = 512

    public init(store: CheckInStore) {
        writes = Coalescer(label: "ocs.check-in-recorder", maximumBatch: Self.maximumBatch) { checkIns in
            try store.record(checkIns)
        }
    }

    /// Queues a check-in; `completion` runs after the transaction holding it commits.
    public func record(_ checkIn: CheckIn, completion: @escaping Completion) {
        writes.submit(checkIn, completion: completion)
    }
}
