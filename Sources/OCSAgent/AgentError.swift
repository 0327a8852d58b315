/// Why a poll failed, as one line naming the cause.
public enum AgentError: Error, Sendable, CustomStringConvertible, Equatable {
    case invalidURL(String)
    case unreachable(String)
    case timeout(String)
    case tls(String)
    case proxy(String)
    case httpStatus(Int, String)
    case signature(String)
    case rollback(String)
    /// The feed verified but its signed `expires` had passed: a replay of an old feed.
    case expired(String)
    case state(String)

    public var description: String {
        switch self {
        case .invalidURL(let message): "invalid URL: \(message)"
        case .unreachable(let message): "unreachable: \(message)"
        case .timeout(let message): "timeout: \(message)"
        case .tls(let message): "TLS: \(message)"
        case .proxy(let message): "proxy: \(message)"
        case .httpStatus(let status, let message): "HTTP status \(status): \(message)"
        case .signature(let message): "signature: \(message)"
        case .rollback(let message): "rollback: \(message)"
        case .expired(let message): "expired: \(message)"
        case .state(let message): "state: \(message)"
        }
    }
}
