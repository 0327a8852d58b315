import NIOCore
import NIOHTTP1

extension ChannelHandlerContext {
    /// Writes a one-line plain-text response with `Connection: close` from this handler toward
    /// the socket, then closes the connection: the answer to a client the server gives up on.
    func answerAndClose(_ status: HTTPResponseStatus, _ message: String) {
        let body = message + "\n"
        let headers: HTTPHeaders = [
            "Content-Type": "text/plain; charset=utf-8",
            "Content-Length": String(body.utf8.count),
            "Connection": "close",
        ]
        write(NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        let channel = self.channel
        writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
