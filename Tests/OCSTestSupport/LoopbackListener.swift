import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A TCP listener on 127.0.0.1 and an ephemeral port that records the first bytes of every
/// connection and closes it: proof of whether a program ever tried to fetch something. Call `stop()`.
public final class LoopbackListener: Sendable {
    public let port: Int
    private let descriptor: Int32
    private let received = Mutex<[String]>([])

    public init() throws {
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw ListenerFailed(step: "socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
        guard bound == 0, listen(descriptor, 16) == 0 else { close(descriptor); throw ListenerFailed(step: "bind/listen") }
        var actual = sockaddr_in()
        var actualLength = length
        _ = withUnsafeMutablePointer(to: &actual) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &actualLength) } }
        port = Int(UInt16(bigEndian: actual.sin_port))
        self.descriptor = descriptor
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    /// The first bytes each connection sent, in arrival order (e.g. `GET /evil.dtd HTTP/1.0`).
    public var requests: [String] { received.withLock { $0 } }

    private func acceptLoop() {
        while true {
            let connection = accept(descriptor, nil, nil)
            guard connection >= 0 else { return }  // the listener was shut down
            var buffer = [UInt8](repeating: 0, count: 512)
            let count = read(connection, &buffer, buffer.count)
            let text = String(decoding: buffer.prefix(max(0, count)), as: UTF8.self)
            received.withLock { $0.append(text) }
            close(connection)
        }
    }

    /// Stops accepting (the accepting thread holds the listener until then).
    public func stop() {
        shutdown(descriptor, Int32(SHUT_RDWR))
        close(descriptor)
    }
}

public struct ListenerFailed: Error, CustomStringConvertible {
    public let step: String
    public var description: String { "cannot open a loopback listener: \(step) failed" }
}
