import NIOCore
import NIOHTTP1

/// Maps a request to the endpoint that answers it: the feed, the admin API, or `404` / `405`.
struct Router: Sendable {
    let feed: FeedEndpoint
    let api: AdminAPI?

    func respond(to request: HTTPRequest, on eventLoop: any EventLoop) -> EventLoopFuture<HTTPResponse> {
        let path = request.head.uri.prefix { $0 != "?" && $0 != "#" }
        if let api, path.hasPrefix(AdminAPI.prefix) {
            return api.respond(to: request, on: eventLoop)
        }
        guard path.lowercased() == FeedEndpoint.path else {
            return eventLoop.makeSucceededFuture(.text(.notFound, "no such path: the feed is at \(FeedEndpoint.path)"))
        }
        guard request.head.method == .GET || request.head.method == .HEAD else {
            var response = HTTPResponse.text(.methodNotAllowed, "method \(request.head.method.rawValue) not allowed: use GET or HEAD")
            response.headers.add(name: "Allow", value: "GET, HEAD")
            return eventLoop.makeSucceededFuture(response)
        }
        return feed.respond(to: request, on: eventLoop)
    }
}
