import OCSStorage

/// Reads the published rule set's serial for many polls at once.
///
/// Each poll must see rule changes committed before it arrived, including those made by another
/// process, so it needs a database read that starts after it. Polls arriving together share
/// one such read instead of each taking a thread hop and a transaction of its own.
public final class SerialReader: Sendable {
    private let reads: Coalescer<Void, Int64>

    public init(store: RuleStore) {
        reads = Coalescer(label: "ocs.serial-reader", maximumBatch: .max) { _ in
            try store.serial()
        }
    }

    /// Calls `completion` with a serial read after this call, on the reader's queue.
    public func read(completion: @escaping @Sendable (Result<Int64, any Error>) -> Void) {
        reads.submit((), completion: completion)
    }
}
