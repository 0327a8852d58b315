import NIOCore
import NIOHTTP1

/// A complete response, built off the channel and written by `HTTPRequestHandler`.
public struct HTTPResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    /// Fixed when the response is made, so a `Content-Length` prepared with the headers stays true.
    public private(set) var body: ByteBuffer?
    /// The host a check-in recorded, for the access log; never sent.
    public var hostKey: String?
    /// A refusal's words, as the body gives them, for the audit trail; never sent. Kept when the
    /// answer is made, so nobody reads them back out of the JSON.
    public var refusal: String?
    /// Whether the response was held on purpose (a poll waiting for a change): its time is the
    /// wait, not the server's latency, so it stays out of the request-duration histogram. Never sent.
    public var wasHeld = false
    /// Whether `headers` already hold the body's `Content-Length`; otherwise the writer adds it.
    public private(set) var includesContentLength = false

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: ByteBuffer? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A response whose headers were made once, `Content-Length` of `body` included, for every
    /// response of the same bytes (a cached feed's).
    public init(status: HTTPResponseStatus, preparedHeaders: HTTPHeaders, body: ByteBuffer) {
        self.init(status: status, headers: preparedHeaders, body: body)
        includesContentLength = true
    }

    /// A JSON body.
    public static func json(_ status: HTTPResponseStatus, _ data: [UInt8], headers extra: HTTPHeaders = [:]) -> HTTPResponse {
        var headers: HTTPHeaders = ["Content-Type": "application/json; charset=utf-8"]
        headers.add(contentsOf: extra)
        return HTTPResponse(status: status, headers: headers, body: ByteBuffer(bytes: data))
    }

    /// A one-line plain-text message, the form of every feed error response.
    public static func text(_ status: HTTPResponseStatus, _ message: String) -> HTTPResponse {
        HTTPResponse(
            status: status,
            headers: ["Content-Type": "text/plain; charset=utf-8"],
            body: ByteBuffer(string: message + "\n")
        )
    }
}

/// A request as the handler collected it: head, peer and body (up to `maximumBodySize`).
public struct HTTPRequest: Sendable {
    public var head: HTTPRequestHead
    public var remoteAddress: String?
    public var body: ByteBuffer?
    /// The request's connection, told when it closes: a poll held for a change is let go then.
    var connection: ConnectionClosing?

    /// Largest request body read: 1 MiB. Larger ones are refused with `413` unread.
    public static let maximumBodySize = 1 << 20

    public init(head: HTTPRequestHead, remoteAddress: String?) {
        self.head = head
        self.remoteAddress = remoteAddress
    }
}

extension HTTPHeaders {
    /// The credential of `Authorization: Bearer <credential>` (the scheme in any case), nil for
    /// none or another scheme: API tokens, enrollment tokens and host credentials all come so.
    var bearerToken: String? {
        guard let value = first(name: "Authorization") else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return parts[1].trimmingCharacters(in: .whitespaces)
    }
}
