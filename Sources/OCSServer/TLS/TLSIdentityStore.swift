import Synchronization

/// The TLS identity new connections use. A reload swaps it for connections accepted afterwards;
/// connections already open keep the one they started with, so a reload drops none.
public final class TLSIdentityStore: Sendable {
    private let identity: Mutex<TLSIdentity>

    public init(_ identity: TLSIdentity) {
        self.identity = Mutex(identity)
    }

    public var current: TLSIdentity { identity.withLock { $0 } }

    /// Reads the same files again; on failure the identity in use stays.
    @discardableResult
    public func reload() throws(TLSIdentityError) -> TLSIdentity {
        let fresh = try current.reloaded()
        identity.withLock { $0 = fresh }
        return fresh
    }
}
