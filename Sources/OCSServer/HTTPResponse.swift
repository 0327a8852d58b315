import NIOCore
import NIOHTTP1

/// A complete response, built off the channel and written by `HTTPRequestHandler`.
public struct HTTPResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: ByteBuffer?

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: ByteBuffer? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A one-line plain-text message, the form of every error response.
    public static func text(_ status: HTTPResponseStatus, _ message: String) -> HTTPResponse {
        HTTPResponse(
            status: status,
            headers: ["Content-Type": "text/plain; charset=utf-8"],
            body: ByteBuffer(string: message + "\n")
        )
    }
}

/// What the handler knows of a request once its head has arrived.
public struct HTTPRequest: Sendable {
    public var head: HTTPRequestHead
    public var remoteAddress: String?
}
