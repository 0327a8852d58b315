import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import OCSFeed
import OCSOperations
import OCSSigning
import OCSStorage

/// `/healthz` and `/readyz`, for load balancers and orchestrators; no token needed.
/// `/healthz` answers while the process serves. `/readyz` answers 200 only when a check-in can be
/// committed to the file that will be there after a restart (the database takes reads and writes,
/// its file is still the one open, its file system has room) and the feed can be served (the
/// signing certificate is valid, or the bundle a disconnected site serves has not expired), else
/// 503 with a reason. Neither says which version runs or where files are.
struct HealthEndpoint: Sendable {
    static let livenessPath = "/healthz"
    static let readinessPath = "/readyz"

    let state: ServerState
    let database: any SQLDatabase
    /// Free space the database's file system must have.
    let minimumFreeBytes: UInt64
    let feeds: FeedService
    let threadPool: NIOThreadPool
    let logger: Logger

    func respond(to request: HTTPRequest, on eventLoop: any EventLoop) -> EventLoopFuture<HTTPResponse> {
        guard request.head.uri.hasPrefix(Self.readinessPath) else {
            return eventLoop.makeSucceededFuture(Self.status(.ok, "ok", reason: nil))
        }
        return threadPool.runIfActive(eventLoop: eventLoop) { [state, database, minimumFreeBytes, feeds, logger] in
            do {
                try state.probe()
            } catch {
                logger.error("readiness: the database check failed", metadata: ["error": "\(error)"])
                return Self.status(.serviceUnavailable, "unavailable", reason: "the database does not take reads and writes")
            }
            if let problem = database.durabilityProblem(minimumFreeBytes: minimumFreeBytes) {
                logger.error("readiness: \(problem)", metadata: ["db": "\(database.name)"])
                return Self.status(.serviceUnavailable, "unavailable", reason: problem)
            }
            do {
                if let problem = try feeds.servingProblem() {
                    return Self.status(.serviceUnavailable, "unavailable", reason: problem)
                }
            } catch {
                logger.error("readiness: the feed cannot be read", metadata: ["error": "\(error)"])
                return Self.status(.serviceUnavailable, "unavailable", reason: "the feed cannot be read")
            }
            return Self.status(.ok, "ready", reason: nil)
        }
    }

    private static func status(_ status: HTTPResponseStatus, _ text: String, reason: String?) -> HTTPResponse {
        struct Body: Encodable { let status: String; let reason: String? }
        return HTTPResponse.json(status, APIJSON.encode(Body(status: text, reason: reason)))
    }
}
