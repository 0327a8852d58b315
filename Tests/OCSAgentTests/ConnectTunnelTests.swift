import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import OCSAgent
import Testing

/// `FeedFetcher` through an HTTP CONNECT proxy: the tunnel carries the request on a 200, and a
/// refusal, a malformed answer, bytes after the answer and an over-long head each fail naming the proxy.
struct ConnectTunnelTests {
    /// A proxy on 127.0.0.1 that answers every CONNECT with the same scripted bytes, written in
    /// one `send`. With `servesTunnel` it then plays the server at the tunnel's far end: it reads
    /// one request and answers `200 hello`; with `endsAfterAnswer` it shuts its side down after
    /// the answer. It records every request head it reads. Call `stop()`.
    final class ScriptedProxy: Sendable {
        let port: Int
        private let descriptor: Int32
        private let answer: [UInt8]
        private let servesTunnel: Bool
        private let endsAfterAnswer: Bool
        private let heads = Mutex<[String]>([])

        init(answer: String, servesTunnel: Bool = false, endsAfterAnswer: Bool = false) throws {
            self.answer = Array(answer.utf8)
            self.servesTunnel = servesTunnel
            self.endsAfterAnswer = endsAfterAnswer
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            try #require(descriptor >= 0, "socket() failed")
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
            guard bound == 0, listen(descriptor, 16) == 0 else {
                close(descriptor)
                throw ProxyFailed(step: "bind/listen")
            }
            _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
            port = Int(UInt16(bigEndian: address.sin_port))
            self.descriptor = descriptor
            Thread { [self] in acceptLoop() }.start()
        }

        /// The request heads read, in order: each CONNECT, and the request carried by a tunnel.
        var requests: [String] { heads.withLock { $0 } }

        private func acceptLoop() {
            while true {
                let connection = accept(descriptor, nil, nil)
                guard connection >= 0 else { return }  // stopped
                var timeout = timeval(tv_sec: 10, tv_usec: 0)
                setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                serve(connection)
                close(connection)
            }
        }

        private func serve(_ connection: Int32) {
            guard let connect = readHead(connection) else { return }
            heads.withLock { $0.append(connect) }
            sendAll(connection, answer)
            if endsAfterAnswer { shutdown(connection, Int32(SHUT_WR)) }
            if servesTunnel, let request = readHead(connection) {
                heads.withLock { $0.append(request) }
                sendAll(connection, Array("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello".utf8))
            }
            // Wait for the client to close first, so no reset can overtake the answer (bounded by SO_RCVTIMEO).
            var sink = [UInt8](repeating: 0, count: 4096)
            for _ in 0..<1000 where read(connection, &sink, sink.count) > 0 {}
        }

        /// Bytes up to an empty line (at most 64 KiB), or nil when the client closed first.
        private func readHead(_ connection: Int32) -> String? {
            var head: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 1)
            // One byte at a time: whatever follows the head stays in the socket for the next read.
            while head.count < 64 * 1024 {
                guard read(connection, &chunk, 1) == 1 else { return nil }
                head.append(chunk[0])
                if head.suffix(4) == Array("\r\n\r\n".utf8) { return String(decoding: head, as: UTF8.self) }
            }
            return nil
        }

        private func sendAll(_ connection: Int32, _ bytes: [UInt8]) {
            var offset = 0
            while offset < bytes.count {
                let sent = bytes[offset...].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard sent > 0 else { return }
                offset += sent
            }
        }

        func stop() {
            shutdown(descriptor, Int32(SHUT_RDWR))
            close(descriptor)
        }
    }

    struct ProxyFailed: Error {
        let step: String
    }

    /// GETs `http://127.0.0.1:9/feed` (nothing listens there: only the proxy answers) through `proxy`.
    static func fetch(through proxy: ScriptedProxy) async throws -> FeedFetcher.Response {
        let fetcher = try FeedFetcher(timeout: .seconds(20), proxy: URL(string: "http://127.0.0.1:\(proxy.port)")!)
        return try await fetcher.get(URL(string: "http://127.0.0.1:9/feed")!)
    }

    /// The proxy's error message for `answer`, failing the test when the fetch succeeds or fails otherwise.
    static func proxyError(answering answer: String, endsAfterAnswer: Bool = false) async throws -> String {
        let proxy = try ScriptedProxy(answer: answer, endsAfterAnswer: endsAfterAnswer)
        defer { proxy.stop() }
        do {
            let response = try await fetch(through: proxy)
            Issue.record("the fetch through a proxy answering \(answer.debugDescription.prefix(80)) succeeded with \(response.status)")
            return ""
        } catch let error as AgentError {
            guard case .proxy(let message) = error else {
                Issue.record("not a proxy error: \(error)")
                return ""
            }
            return message
        }
    }

    @Test func aTunnelOpenedWith200CarriesTheRequestToTheServer() async throws {
        let proxy = try ScriptedProxy(answer: "HTTP/1.1 200 Connection established\r\nProxy-Agent: scripted\r\n\r\n", servesTunnel: true)
        defer { proxy.stop() }
        let response = try await Self.fetch(through: proxy)
        #expect(response.status == 200)
        #expect(response.body == Array("hello".utf8))
        let requests = proxy.requests
        try #require(requests.count == 2, "\(requests)")
        let connect = requests[0].split(separator: "\r\n").map { $0.lowercased() }
        #expect(connect.first == "connect 127.0.0.1:9 http/1.1", "\(requests[0])")
        #expect(connect.contains("host: 127.0.0.1:9"), "\(requests[0])")
        #expect(connect.contains("user-agent: ocs-agent"), "\(requests[0])")
        #expect(requests[1].hasPrefix("GET /feed HTTP/1.1\r\n"), "\(requests[1])")
    }

    @Test func aRefusalIsNamedWithItsStatusAndItsBodyIsNotRead() async throws {
        let body = String(repeating: "x", count: 100_000)
        let message = try await Self.proxyError(answering:
            "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"proxy\"\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        #expect(message == "the proxy refused CONNECT 127.0.0.1:9: HTTP/1.1 407 Proxy Authentication Required")
    }

    @Test func aMalformedAnswerIsNamedAsNotHTTP() async throws {
        for answer in ["SSH-2.0-OpenSSH_9.6\r\n", "HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n"] {
            let message = try await Self.proxyError(answering: answer)
            #expect(message.hasPrefix("the proxy's answer to CONNECT 127.0.0.1:9 is not valid HTTP/1.1 ("), "\(answer.debugDescription): \(message)")
            #expect(message.hasSuffix("check that the proxy is an HTTP CONNECT proxy"), "\(message)")
        }
    }

    @Test func bytesAfterTheAnswerAreRefused() async throws {
        // Not HTTP, the start of a response, and a whole response: each after a 200.
        for extra in ["\u{16}\u{03}\u{01}EXTRA", "HTTP/1.1 2", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"] {
            let message = try await Self.proxyError(answering: "HTTP/1.1 200 Connection established\r\n\r\n" + extra)
            #expect(message == "the proxy sent data before the tunnel was used", "\(extra.debugDescription): \(message)")
        }
    }

    @Test func anAnswerWithAHeadOver16KiBIsRefused() async throws {
        let longField = "HTTP/1.1 200 Connection established\r\nX-Padding: \(String(repeating: "a", count: 17 * 1024))\r\n\r\n"
        let manyFields = "HTTP/1.1 200 Connection established\r\n" + (0..<40).map { "X-Field-\($0): \(String(repeating: "b", count: 500))\r\n" }.joined() + "\r\n"
        let longStatusLine = "HTTP/1.1 200 \(String(repeating: "c", count: 17 * 1024))\r\n\r\n"
        for answer in [longField, manyFields, longStatusLine] {
            let message = try await Self.proxyError(answering: answer)
            #expect(message == "the proxy's answer to CONNECT is over 16 KiB", "\(message)")
        }
    }

    @Test func aProxyClosingMidAnswerIsNamed() async throws {
        let message = try await Self.proxyError(answering: "HTTP/1.1 200 Connection est", endsAfterAnswer: true)
        #expect(message == "the proxy closed the connection during CONNECT 127.0.0.1:9", "\(message)")
    }
}
