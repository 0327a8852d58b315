import Dispatch
import NIOCore
import Synchronization

/// Runs one blocking operation for many callers at once: requests that arrive while an operation
/// is running are gathered and served together by the next one, on a dedicated queue.
///
/// Every caller is served by an operation that started after it called `submit`, so what it gets
/// back is never older than its request (a fresh read, or a commit that includes its input).
/// Results go back to the callers' event loops in one task per loop per batch: a batch of 300
/// callers on two loops wakes each loop once, not 300 times.
public final class Coalescer<Input: Sendable, Output: Sendable>: Sendable {
    private let queue: DispatchQueue
    private let maximumBatch: Int
    private let operation: @Sendable ([Input]) throws -> [Output]
    private let pending = Mutex(Pending())

    private struct Pending {
        var items: [(Input, EventLoopPromise<Output>)] = []
        var running = false
    }

    /// `operation` receives the inputs of one batch, at most `maximumBatch` of them, in call order,
    /// and returns one output for each, in the same order.
    public init(label: String, maximumBatch: Int, operation: @escaping @Sendable ([Input]) throws -> [Output]) {
        queue = DispatchQueue(label: label)
        self.maximumBatch = maximumBatch
        self.operation = operation
    }

    /// Queues `input`; the future completes on `eventLoop` once its batch has run.
    public func submit(_ input: Input, on eventLoop: any EventLoop) -> EventLoopFuture<Output> {
        let promise = eventLoop.makePromise(of: Output.self)
        let start = pending.withLock { pending in
            pending.items.append((input, promise))
            guard !pending.running else { return false }
            pending.running = true
            return true
        }
        if start {
            queue.async { self.drain() }
        }
        return promise.futureResult
    }

    /// Returns once every batch submitted before the call has run and its results are on their
    /// way to their event loops (queued there, so a loop that shuts down afterwards still runs
    /// them): what a server waits for before it stops its event loops.
    public func idle() async {
        await withCheckedContinuation { (finished: CheckedContinuation<Void, Never>) in
            queue.async { finished.resume() }
        }
    }

    private func drain() {
        while true {
            let batch: [(Input, EventLoopPromise<Output>)] = pending.withLock { pending in
                let count = min(pending.items.count, maximumBatch)
                let batch = Array(pending.items.prefix(count))
                pending.items.removeFirst(count)
                if batch.isEmpty { pending.running = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            let promises = batch.map(\.1)
            switch Result(catching: { try operation(batch.map(\.0)) }) {
            case .success(let outputs):
                precondition(outputs.count == promises.count, "one output for each input")
                Self.deliver(zip(promises, outputs).map { ($0, .success($1)) })
            case .failure(let error):
                Self.deliver(promises.map { ($0, .failure(error)) })
            }
        }
    }

    /// Completes each promise with its result, one task on each event loop they belong to.
    private static func deliver(_ results: [(EventLoopPromise<Output>, Result<Output, any Error>)]) {
        typealias Completion = (EventLoopPromise<Output>, Result<Output, any Error>)
        var byLoop: [ObjectIdentifier: (loop: any EventLoop, completions: [Completion])] = [:]
        for completion in results {
            let loop = completion.0.futureResult.eventLoop
            byLoop[ObjectIdentifier(loop), default: (loop, [])].completions.append(completion)
        }
        for (loop, completions) in byLoop.values {
            loop.execute {
                for (promise, result) in completions { promise.completeWith(result) }
            }
        }
    }
}
