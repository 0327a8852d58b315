import Foundation
import NIOCore
@testable import OCSServer
import OCSStorage
import OCSTestSupport
import Testing

/// Plain HTTP is served only on the loopback address actually bound: a host name such as
/// `localhost` may resolve anywhere (`/etc/hosts`).
struct PlainHTTPBindingTests {
    @Test(arguments: ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
    func loopbackAddressesAreLoopback(address: String) throws {
        #expect(try SocketAddress(ipAddress: address, port: 80).isLoopback)
    }

    @Test(arguments: ["0.0.0.0", "10.0.0.1", "128.0.0.1", "192.168.1.20", "::", "::2", "fe80::1", "::ffff:10.0.0.1", "::ffff:128.0.0.1", "2001:db8::1"])
    func otherAddressesAreNot(address: String) throws {
        #expect(try !SocketAddress(ipAddress: address, port: 80).isLoopback)
    }

    /// The decision on the bound address: refused off loopback, unless TLS or the operator's
    /// word that a proxy terminates TLS; named `localhost` or not, the address decides.
    @Test func plainHTTPIsJudgedOnTheBoundAddress() throws {
        let elsewhere = try SocketAddress(ipAddress: "10.1.2.3", port: 8080)
        let loopback = try SocketAddress(ipAddress: "127.0.0.1", port: 8080)
        let named = HTTPServer.Configuration(host: "localhost", port: 8080)
        #expect(throws: PlainHTTPOffLoopback.self) { try HTTPServer.refusePlainHTTPOffLoopback(bound: elsewhere, named) }
        #expect(throws: PlainHTTPOffLoopback.self) { try HTTPServer.refusePlainHTTPOffLoopback(bound: nil, named) }
        try HTTPServer.refusePlainHTTPOffLoopback(bound: loopback, named)
        try HTTPServer.refusePlainHTTPOffLoopback(bound: elsewhere, .init(host: "localhost", port: 8080, allowPlainHTTPOffLoopback: true))
        do {
            try HTTPServer.refusePlainHTTPOffLoopback(bound: elsewhere, named)
        } catch {
            #expect(error.description.contains("localhost was bound as 10.1.2.3, which is not a loopback address"), "\(error)")
        }
    }

    /// The real listener on an address other machines reach, without TLS: `run` fails naming it
    /// and nothing was served; on loopback it serves.
    @Test func theServerRefusesToServePlainHTTPOffLoopback() async throws {
        let database = try TemporaryDatabase()
        let server = InProcessServer(database: database.database, configuration: .init(host: "0.0.0.0", port: 0))
        let running = Task { try await server.server.run() }
        // Were it to serve, it would serve until cancelled: bounded, so the test fails, not hangs.
        let watchdog = Task {
            try await Task.sleep(for: .seconds(20))
            running.cancel()
        }
        defer { watchdog.cancel() }
        await #expect(throws: PlainHTTPOffLoopback.self) { try await running.value }

        let status = try await InProcessServer.serving(database: database.database, configuration: .init(host: "127.0.0.1", port: 0)) { address in
            try Curl.request("http://127.0.0.1:\(address.port ?? 0)/healthz").status
        }
        #expect(status == 200)
    }
}
