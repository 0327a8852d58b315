import Dispatch
import OCSStorage
import Synchronization

/// Records check-ins durably, grouping those that arrive together into one transaction.
///
/// A caller's completion runs once its check-in is committed (or the commit failed), so a
/// response sent from the completion never claims a check-in that could still be lost.
public final class CheckInRecorder: Sendable {
    public typealias Completion = @Sendable (Result<Void, any Error>) -> Void

    private let store: CheckInStore
    private let queue = DispatchQueue(label: "ocs.check-in-recorder")
    private let pending = Mutex(Pending())

    /// Most check-ins written in one transaction.
    public static let maximumBatch = 512

    private struct Pending {
        var items: [(CheckIn, Completion)] = []
        var draining = false
    }

    public init(store: CheckInStore) {
        self.store = store
    }

    /// Queues a check-in; `completion` runs on the recorder's queue after the commit.
    public func record(_ checkIn: CheckIn, completion: @escaping Completion) {
        let startDrain = pending.withLock { pending in
            pending.items.append((checkIn, completion))
            guard !pending.draining else { return false }
            pending.draining = true
            return true
        }
        if startDrain {
            queue.async { self.drain() }
        }
    }

    /// Writes whatever is pending, batch after batch, until nothing is left.
    private func drain() {
        while true {
            let batch: [(CheckIn, Completion)] = pending.withLock { pending in
                let count = min(pending.items.count, Self.maximumBatch)
                let batch = Array(pending.items.prefix(count))
                pending.items.removeFirst(count)
                if batch.isEmpty { pending.draining = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            let result = Result { try store.record(batch.map(\.0)) }
            for (_, completion) in batch {
                completion(result)
            }
        }
    }
}
