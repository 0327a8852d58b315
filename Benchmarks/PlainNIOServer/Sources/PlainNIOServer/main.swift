// PlainNIOServer FILE: serves the bytes of FILE to every request on 127.0.0.1, on an ephemeral
// port printed as "listening on http://127.0.0.1:PORT". The connection pipeline has the same
// SwiftNIO handlers as ocs's (`HTTPServer.configureConnection`: back pressure, idle timeout, the
// HTTP/1.1 encoder and decoder, pipelining, protocol errors; ocs has no response compressor since
// it gzips each feed once), so the difference between this server and ocs is ocs's own work:
// its deadlines, pipelining limit, routing, query validation, feed lookup and access log.
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

guard CommandLine.arguments.count == 2, let body = FileManager.default.contents(atPath: CommandLine.arguments[1]) else {
    FileHandle.standardError.write(Data("usage: PlainNIOServer FILE (the bytes to serve)\n".utf8))
    exit(2)
}

/// Answers every request with the fixed body, as a static file server would.
final class FixedBodyHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let body: ByteBuffer
    private let headers: HTTPHeaders
    private var keepAlive = true
    private var version = HTTPVersion.http1_1

    init(body: ByteBuffer) {
        self.body = body
        headers = [
            "Content-Type": "application/xml; charset=utf-8", "Content-Length": String(body.readableBytes),
            "ETag": "\"0123456789abcdef0123456789abcdef\"", "Cache-Control": "no-cache", "Vary": "Accept-Encoding",
        ]
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            keepAlive = head.isKeepAlive
            version = head.version
        case .body:
            break
        case .end:
            var headers = self.headers
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if !keepAlive {
                let channel = context.channel
                written.whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
let bytes = ByteBuffer(bytes: body)
let channel = try ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 256)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .serverChannelOption(.maxMessagesPerRead, value: 1)
    .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
    .childChannelOption(.maxMessagesPerRead, value: 16)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(BackPressureHandler())
            try pipeline.addHandler(IdleStateHandler(readTimeout: .seconds(60)))
            try pipeline.addHandler(HTTPResponseEncoder(configuration: .init()))
            try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
            try pipeline.addHandler(HTTPServerPipelineHandler())
            try pipeline.addHandler(HTTPServerProtocolErrorHandler())
            try pipeline.addHandler(FixedBodyHandler(body: bytes))
        }
    }
    .bind(host: "127.0.0.1", port: 0)
    .wait()
FileHandle.standardOutput.write(Data("listening on http://127.0.0.1:\(channel.localAddress?.port ?? 0)\n".utf8))
try channel.closeFuture.wait()
