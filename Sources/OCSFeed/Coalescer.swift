import Dispatch
import Synchronization

/// Runs one blocking operation for many callers at once: requests that arrive while an operation
/// is running are gathered and served together by the next one, on a dedicated queue.
///
/// Every caller is served by an operation that started after it called `submit`, so what it gets
/// back is never older than its request (a fresh read, or a commit that includes its input).
public final class Coalescer<Input: Sendable, Output: Sendable>: Sendable {
    public typealias Completion = @Sendable (Result<Output, any Error>) -> Void

    private let queue: DispatchQueue
    private let maximumBatch: Int
    private let operation: @Sendable ([Input]) throws -> Output
    private let pending = Mutex(Pending())

    private struct Pending {
        var items: [(Input, Completion)] = []
        var running = false
    }

    /// `operation` receives the inputs of one batch, at most `maximumBatch` of them, in call order.
    public init(label: String, maximumBatch: Int, operation: @escaping @Sendable ([Input]) throws -> Output) {
        queue = DispatchQueue(label: label)
        self.maximumBatch = maximumBatch
        self.operation = operation
    }

    /// Queues `input`; `completion` runs on the coalescer's queue once its batch has run.
    public func submit(_ input: Input, completion: @escaping Completion) {
        let start = pending.withLock { pending in
            pending.items.append((input, completion))
            guard !pending.running else { return false }
            pending.running = true
            return true
        }
        if start {
            queue.async { self.drain() }
        }
    }

    private func drain() {
        while true {
            let batch: [(Input, Completion)] = pending.withLock { pending in
                let count = min(pending.items.count, maximumBatch)
                let batch = Array(pending.items.prefix(count))
                pending.items.removeFirst(count)
                if batch.isEmpty { pending.running = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            let result = Result { try operation(batch.map(\.0)) }
            for (_, completion) in batch {
                completion(result)
            }
        }
    }
}
