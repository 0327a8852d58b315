import NIOCore
import NIOHTTP1
import OCSDomain
import OCSStorage

/// Who answers a request the router admitted.
enum Endpoint: Sendable {
    case feed
    case enroll
    case health
    case metrics
    /// The admin API, for a caller whose token was checked at the head.
    case api(caller: APIToken)
    /// The dashboard under `/ui/`; a form POST carries the session checked at the head.
    case dashboard(session: DashboardSession?)
}

extension Endpoint {
    /// The route metrics count the request under.
    var route: Route {
        switch self {
        case .feed: .feed
        case .enroll: .enroll
        case .health: .health
        case .metrics: .metrics
        case .api: .api
        case .dashboard: .dashboard
        }
    }
}

/// Where a request went, as metrics label it; `refused` for a request no endpoint admitted.
enum Route: Int, CaseIterable, Sendable {
    case feed, enroll, api, health, metrics, dashboard, refused

    /// The `route` label.
    var name: String {
        switch self {
        case .feed: "feed"
        case .enroll: "enroll"
        case .api: "api"
        case .health: "health"
        case .metrics: "metrics"
        case .dashboard: "dashboard"
        case .refused: "refused"
        }
    }
}

/// An endpoint's answer: ready now (a poll served from memory, answered on the event loop without
/// a future), or later, from work done off the loop.
enum Reply: Sendable {
    case now(HTTPResponse)
    case later(EventLoopFuture<HTTPResponse>)

    /// The answer as a future on `eventLoop`, for a caller already in a chain of futures.
    func future(on eventLoop: any EventLoop) -> EventLoopFuture<HTTPResponse> {
        switch self {
        case .now(let response): eventLoop.makeSucceededFuture(response)
        case .later(let response): response
        }
    }
}

/// The router's decision on a request head, made before any body is read.
enum Admission: Sendable {
    case accept(Endpoint)
    /// Answer with this; a body the request announced is never read.
    case refuse(HTTPResponse)
    /// Decided off the event loop (an API token is looked up in the database).
    case decideLater(EventLoopFuture<Admission>)
}

/// Maps a request to the endpoint that answers it: the feed, the admin API, or `404` / `405`.
struct Router: Sendable {
    let feed: FeedEndpoint
    let enroll: EnrollmentEndpoint
    let api: AdminAPI
    let health: HealthEndpoint
    let metrics: MetricsEndpoint
    let dashboard: DashboardController

    func admit(_ head: HTTPRequestHead, on eventLoop: any EventLoop) -> Admission {
        let path = Self.path(of: head)
        // Polls are nearly every request: matched first, on bytes.
        if path.equalsASCIICaseInsensitive(FeedEndpoint.path) {
            return Self.admitReadOnly(head, to: .feed, path: path)
        }
        if path.hasPrefix(AdminAPI.prefix) {
            return api.admit(head, on: eventLoop)
        }
        if DashboardController.handles(path: path) {
            return dashboard.admit(head, on: eventLoop)
        }
        if path == EnrollmentEndpoint.path {
            guard head.method == .POST else {
                var response = HTTPResponse.text(.methodNotAllowed, "method \(head.method.rawValue) not allowed: enroll with POST")
                response.headers.add(name: "Allow", value: "POST")
                return .refuse(response)
            }
            return .accept(.enroll)
        }
        let endpoint: Endpoint
        switch path {
        case HealthEndpoint.livenessPath, HealthEndpoint.readinessPath: endpoint = .health
        case MetricsEndpoint.path: endpoint = .metrics
        default: return .refuse(.text(.notFound, "no such path: the feed is at \(FeedEndpoint.path)"))
        }
        return Self.admitReadOnly(head, to: endpoint, path: path)
    }

    /// Admits `GET` and `HEAD` without a body; refuses anything else.
    private static func admitReadOnly(_ head: HTTPRequestHead, to endpoint: Endpoint, path: Substring) -> Admission {
        guard head.method == .GET || head.method == .HEAD else {
            var response = HTTPResponse.text(.methodNotAllowed, "method \(head.method.rawValue) not allowed: use GET or HEAD")
            response.headers.add(name: "Allow", value: "GET, HEAD")
            return .refuse(response)
        }
        guard !head.announcesBody else {
            return .refuse(.text(.payloadTooLarge, "\(path) takes no request body: send GET without one"))
        }
        return .accept(endpoint)
    }

    func respond(to request: HTTPRequest, with endpoint: Endpoint, on eventLoop: any EventLoop) -> Reply {
        switch endpoint {
        case .feed:
            return feed.respond(to: request, on: eventLoop)
        case .enroll:
            return .later(enroll.respond(to: request, on: eventLoop))
        case .health:
            return .later(health.respond(to: request, on: eventLoop))
        case .metrics:
            return .later(metrics.respond(to: request, on: eventLoop))
        case .api(let caller):
            // The API notes the serial of its changes itself, in the same trip off the event loop.
            return .later(api.respond(to: request, caller: caller, on: eventLoop))
        case .dashboard(let session):
            return .later(feed.servingChanges(of: request, dashboard.respond(to: request, session: session, on: eventLoop), on: eventLoop))
        }
    }

    /// A refusal in the form of the endpoint the request was for: JSON for the API, else text.
    func refusal(_ status: HTTPResponseStatus, _ message: String, for head: HTTPRequestHead) -> HTTPResponse {
        Self.path(of: head).hasPrefix(AdminAPI.prefix) ? AdminAPI.error(status, message) : .text(status, message)
    }

    /// The target up to its query or fragment, found on bytes (no `Character` breaking per poll).
    private static func path(of head: HTTPRequestHead) -> Substring {
        let uri = head.uri
        guard let end = uri.utf8.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) else { return uri[...] }
        return uri[..<end]
    }
}
