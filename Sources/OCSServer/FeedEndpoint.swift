import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import OCSDomain
import OCSFeed
import OCSStorage

/// `GET`/`HEAD /getexchangemitigations`: validates the query, serves the feed for the host's
/// build and, when the host identifies itself, records its check-in before answering.
struct FeedEndpoint: Sendable {
    static let path = "/getexchangemitigations"

    let feeds: FeedService
    let serials: SerialReader
    let recorder: CheckInRecorder
    let threadPool: NIOThreadPool
    let metrics: ServerMetrics
    let logger: Logger

    /// Longest User-Agent kept with a check-in.
    static let maximumUserAgentLength = 512

    func respond(to request: HTTPRequest, on eventLoop: any EventLoop) -> EventLoopFuture<HTTPResponse> {
        let query: FeedQuery
        do throws(FeedQueryError) {
            query = try FeedQuery(items: Self.queryItems(of: request.head.uri))
        } catch {
            return eventLoop.makeSucceededFuture(.text(.badRequest, error.description))
        }

        let logger = self.logger
        // First a serial read that started after this request: from the check-in's own trip to
        // the database when the host identifies itself (committed before anything is sent),
        // else a read shared with the polls arriving alongside this one.
        let serialRead = eventLoop.makePromise(of: Int64.self)
        var hostKey: String?
        if query.identifiesHost {
            let checkIn = checkIn(query, request)
            hostKey = checkIn.serverID ?? checkIn.serverName?.lowercased()
            recorder.record(checkIn) { result in
                serialRead.completeWith(result.mapError { CheckInRecordingFailed(underlying: $0) })
            }
        } else {
            serials.read { serialRead.completeWith($0) }
        }
        // Then the feed from memory when it was rendered at that serial; rendering and signing
        // a new one runs on the thread pool.
        // Group membership is decided from what the poll says; a poll naming no host is anonymous.
        let host = query.pollingHost
        let feed = serialRead.futureResult.flatMap { [feeds, threadPool, metrics] serial in
            if let cached = feeds.cachedFeed(for: query.build, host: host, serial: serial) {
                metrics.feedCacheHits.increment()
                return eventLoop.makeSucceededFuture(cached)
            }
            metrics.feedCacheMisses.increment()
            return threadPool.runIfActive(eventLoop: eventLoop) { try feeds.feed(for: query.build, host: host, serial: serial) }
        }

        let conditional = request.head.headers[canonicalForm: "If-None-Match"]
        let isHead = request.head.method == .HEAD
        return feed.map { [hostKey] feed in
            var headers = HTTPHeaders()
            headers.add(name: "ETag", value: feed.etag)
            headers.add(name: "Cache-Control", value: "no-cache")
            headers.add(name: "Vary", value: "Accept-Encoding")
            if Self.matches(conditional, etag: feed.etag) {
                var response = HTTPResponse(status: .notModified, headers: headers)
                response.hostKey = hostKey
                return response
            }
            headers.add(name: "Content-Type", value: "application/xml; charset=utf-8")
            if !isHead { headers.add(name: FeedCompression.marker, value: "1") }
            var response = HTTPResponse(status: .ok, headers: headers, body: ByteBuffer(bytes: feed.body))
            response.hostKey = hostKey
            return response
        }.flatMapErrorThrowing { error in
            logger.error("feed request failed", metadata: ["error": "\(error)"])
            if error is CheckInRecordingFailed {
                return .text(.serviceUnavailable, "the check-in could not be recorded: retry later")
            }
            return .text(.internalServerError, "internal error: see the server log")
        }
    }

    private func checkIn(_ query: FeedQuery, _ request: HTTPRequest) -> CheckIn {
        CheckIn(
            serverID: query.serverID, serverName: query.server, build: query.build?.description, orgID: query.orgID,
            applied: query.applied, blocked: query.blocked,
            mitigationsEnabled: query.mitigationsEnabled, dataCollectionEnabled: query.dataCollectionEnabled,
            remoteAddress: request.remoteAddress,
            userAgent: request.head.headers.first(name: "User-Agent").map { String($0.prefix(Self.maximumUserAgentLength)) },
            time: Date()
        )
    }

    /// Whether an `If-None-Match` list names this entity tag (weak comparison, as RFC 9110 asks),
    /// in its identity form or as the gzip variant this server tags with `-gzip`.
    static func matches(_ ifNoneMatch: [Substring], etag: String) -> Bool {
        let opaque = etag.dropFirst().dropLast()
        return ifNoneMatch.contains { candidate in
            var tag = candidate.trimmingCharacters(in: .whitespaces)[...]
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag = tag.dropFirst(2) }
            guard tag.count >= 2, tag.first == "\"", tag.last == "\"" else { return false }
            let value = tag.dropFirst().dropLast()
            return value == opaque || value == opaque + FeedCompression.etagSuffix
        }
    }

    /// The decoded query items of a request target; throws when the target is not a valid URI.
    static func queryItems(of uri: String) throws(FeedQueryError) -> [(name: String, value: String?)] {
        guard let components = URLComponents(string: uri) else {
            throw FeedQueryError(parameter: "(request URI)", message: "is not a valid URI: percent-encode special characters")
        }
        return (components.queryItems ?? []).map { ($0.name, $0.value) }
    }
}

/// The check-in store refused a write; the poll is answered `503` so the agent retries.
struct CheckInRecordingFailed: Error {
    let underlying: any Error
}
