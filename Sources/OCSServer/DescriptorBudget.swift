#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How many connections the process's open-file limit (`ulimit -n`) leaves room for. Each
/// connection takes one descriptor; the database, logs and key files take a few more.
public struct DescriptorBudget: Sendable {
    /// Descriptors kept for everything but connections: SQLite's pool, WAL and shared memory,
    /// the listener, logs, key files and the event loops.
    public static let reserved = 64

    /// The soft limit after `raise(toFit:)`.
    public let limit: Int

    /// Connections the limit leaves room for.
    public var connections: Int { max(0, limit - Self.reserved) }

    /// Raises the soft open-file limit as far as the hard limit allows to fit `connections`.
    public static func raise(toFit connections: Int) -> DescriptorBudget {
        var limits = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limits) == 0 else { return DescriptorBudget(limit: Int(FD_SETSIZE)) }
        let wanted = rlim_t(connections + reserved)
        if limits.rlim_cur < wanted {
            var raised = limits
            raised.rlim_cur = min(wanted, limits.rlim_max)
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limits = raised }
        }
        return DescriptorBudget(limit: limits.rlim_cur >= rlim_t(Int.max) ? Int.max : Int(limits.rlim_cur))
    }
}
