import NIOCore

extension SocketAddress {
    /// Whether only this machine can reach the address: 127.0.0.0/8, `::1`, or a 127/8 address
    /// mapped into IPv6 (`::ffff:127.0.0.1`). Judged on the bound address, never on a host name,
    /// which `/etc/hosts` may map anywhere.
    public var isLoopback: Bool {
        switch self {
        case .v4(let v4):
            return UInt32(bigEndian: v4.address.sin_addr.s_addr) >> 24 == 127
        case .v6(let v6):
            let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }
            return bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xff && bytes[11] == 0xff && bytes[12] == 127
        case .unixDomainSocket:
            return false
        }
    }
}

/// The listener was bound to an address other machines can reach, without TLS and without the
/// operator saying a proxy in front terminates it: API tokens and check-ins would cross the
/// network in clear. The listener is closed before it accepts anything.
public struct PlainHTTPOffLoopback: Error, CustomStringConvertible {
    public let host: String
    public let bound: SocketAddress?

    public var description: String {
        let address = bound.map { "\($0.ipAddress ?? "\($0)")" } ?? "an address it could not read back"
        return "\(host) was bound as \(address), which is not a loopback address: plain HTTP there would send API tokens and check-ins across the network in clear"
    }
}
