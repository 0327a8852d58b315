import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import OCSServer

/// The per-connection handlers in process, on an `EmbeddedChannel` whose clock the tests move:
/// deadlines are checked by advancing time, not by waiting for it.
struct RequestLimitsDeadlineTests {
    static let timeouts = RequestLimits.Timeouts(header: .seconds(10), body: .seconds(30))

    static func limits(maximumWaiting: Int = 256) -> RequestLimits {
        RequestLimits(timeouts: timeouts, maximumWaiting: maximumWaiting, metrics: ServerMetrics(), logger: Logger(label: "test"))
    }

    static func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handler: limits())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    static let head = HTTPRequestHead(version: .http1_1, method: .PUT, uri: "/api/v1/rules/M1", headers: ["Content-Length": "100"])

    static func responseStatus(_ channel: EmbeddedChannel) throws -> HTTPResponseStatus? {
        guard case .head(let head) = try channel.readOutbound(as: HTTPServerResponsePart.self) else { return nil }
        return head.status
    }

    @Test func bytesThatNeverBecomeAHeadAreAnswered408AtTheHeaderDeadline() throws {
        let channel = try Self.channel()
        // A read that decoded nothing: the first bytes of a head.
        channel.pipeline.fireChannelReadComplete()
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(try Self.responseStatus(channel) == .requestTimeout)
        #expect(!channel.isActive)
    }

    @Test func aBodyThatStallsIsAnswered408AtTheBodyDeadline() throws {
        let channel = try Self.channel()
        try channel.writeInbound(HTTPServerRequestPart.head(Self.head))
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "abc")))
        channel.embeddedEventLoop.advanceTime(by: .seconds(29))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(try Self.responseStatus(channel) == .requestTimeout)
        #expect(!channel.isActive)
    }

    @Test func aCompleteRequestAndAnIdleConnectionHaveNoDeadline() throws {
        let channel = try Self.channel()
        try channel.writeInbound(HTTPServerRequestPart.head(Self.head))
        // (writeInbound completes a read after each part, as the decoder does after each read.)
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        // The response takes its time; then the connection idles (the idle timeout's business).
        channel.embeddedEventLoop.advanceTime(by: .minutes(5))
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok)))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        channel.embeddedEventLoop.advanceTime(by: .hours(1))
        #expect(channel.isActive)
        _ = try channel.readOutbound(as: HTTPServerResponsePart.self)
        _ = try channel.readOutbound(as: HTTPServerResponsePart.self)
        #expect(try channel.readOutbound(as: HTTPServerResponsePart.self) == nil)
    }

    @Test func aLateHeadBehindAnUnansweredRequestClosesWithoutAnAnswer() throws {
        let channel = try Self.channel()
        try channel.writeInbound(HTTPServerRequestPart.head(Self.head))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        // The next request's first bytes arrive while the first is still being answered.
        channel.pipeline.fireChannelReadComplete()
        channel.embeddedEventLoop.advanceTime(by: .seconds(11))
        // A 408 now would go out before the first request's response.
        #expect(try channel.readOutbound(as: HTTPServerResponsePart.self) == nil)
        #expect(!channel.isActive)
    }
}

/// Counts the `read()` calls that reach the socket end of the pipeline.
final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = NIOAny
    var reads = 0

    func read(context: ChannelHandlerContext) {
        reads += 1
        context.read()
    }
}

struct RequestLimitsPipeliningTests {
    static let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/getexchangemitigations")

    @Test func readingPausesWhileSixteenRequestsWaitAndResumesAsTheyAreAnswered() throws {
        let counter = ReadCounter()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(RequestLimitsDeadlineTests.limits(maximumWaiting: 256))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        for _ in 1...16 {
            try channel.writeInbound(HTTPServerRequestPart.head(Self.head))
            try channel.writeInbound(HTTPServerRequestPart.end(nil))
        }
        let before = counter.reads
        channel.read()
        #expect(counter.reads == before, "read while 16 requests wait")
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok)))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        #expect(counter.reads == before + 1, "the held read goes out once a response is done")
    }

    @Test func aConnectionPastTheLimitIsClosed() throws {
        let channel = EmbeddedChannel(handler: RequestLimitsDeadlineTests.limits(maximumWaiting: 4))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        for _ in 1...4 {
            try channel.writeInbound(HTTPServerRequestPart.head(Self.head))
            try channel.writeInbound(HTTPServerRequestPart.end(nil))
        }
        #expect(channel.isActive)
        try channel.writeInbound(HTTPServerRequestPart.head(Self.head))
        #expect(!channel.isActive)
    }
}

struct ProtocolErrorResponderTests {
    @Test func aParseErrorGetsOne400AndTheConnectionCloses() throws {
        let channel = EmbeddedChannel(handler: ProtocolErrorResponder(metrics: ServerMetrics()))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        // The decoder reports the error again on the next read; only the first is answered.
        channel.pipeline.fireErrorCaught(HTTPParserError.invalidVersion)
        channel.pipeline.fireErrorCaught(HTTPParserError.invalidVersion)
        guard case .head(let head) = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
            Issue.record("no response head")
            return
        }
        #expect(head.status == .badRequest)
        #expect(head.headers["Connection"] == ["close"])
        var parts = 0
        while try channel.readOutbound(as: HTTPServerResponsePart.self) != nil { parts += 1 }
        #expect(parts == 2, "body and end of the one 400, nothing more")
        #expect(!channel.isActive)
    }
}
