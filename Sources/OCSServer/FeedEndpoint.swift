import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import OCSDomain
import OCSFeed
import OCSStorage

/// `GET`/`HEAD /getexchangemitigations`: validates the query, serves the feed for the host's
/// build and, when the host identifies itself, records its check-in before answering; a poll that
/// asks to wait for a change of the feed it holds goes to `HeldPolls`.
struct FeedEndpoint: Sendable {
    static let path = "/getexchangemitigations"

    let feeds: FeedService
    let recorder: CheckInRecorder
    let threadPool: NIOThreadPool
    let metrics: ServerMetrics
    /// Polls waiting for a change of their feed.
    let held: HeldPolls
    /// Longest wait a poll is held for, in seconds: a longer `Prefer: wait` is cut to it.
    let maximumWait: Int
    let logger: Logger

    /// Longest User-Agent kept with a check-in.
    static let maximumUserAgentLength = 512

    /// Answers on the event loop when it can (a bad query, an anonymous poll whose feed is in
    /// memory); otherwise off it.
    func respond(to request: HTTPRequest, on eventLoop: any EventLoop) -> Reply {
        let query: FeedQuery
        do throws(FeedQueryError) {
            query = try FeedQuery(items: Self.queryItems(of: request.head.uri))
        } catch {
            return .now(.text(.badRequest, error.description))
        }
        let form = Representation(request.head)
        let wait = Self.holdableWait(request.head, form, maximum: maximumWait)

        // An anonymous poll (naming no host, so in no group: it receives only rules released to
        // everyone) is served from memory at the serial the server knows, which is never older
        // than the last change made through its API, nor than a commit by another process more
        // than one watch interval ago (`SerialWatcher`).
        guard query.identifiesHost else {
            if let cached = feeds.cachedFeed(for: query.build) {
                metrics.feedCacheHits.increment()
                return answer(with: cached, form, wait: wait, build: query.build, host: .anonymous, hostKey: nil, member: false, request: request, on: eventLoop)
            }
            metrics.feedCacheMisses.increment()
            return .later(threadPool.runIfActive(eventLoop: eventLoop) { [feeds, build = query.build] in try feeds.feed(for: build) }
                .flatMap { feed in
                    answer(with: feed, form, wait: wait, build: query.build, host: .anonymous, hostKey: nil, member: false, request: request, on: eventLoop)
                        .future(on: eventLoop)
                }
                .recover { [logger] error in Self.answer(error, logger: logger) })
        }

        // An identified poll: its check-in is committed first; the commit's trip to the database
        // also reads the serial, so the feed is as fresh as the commit. One promise and one
        // callback: a chain of futures per poll cost more than the rest of this function.
        let logger = self.logger
        let credential: String?
        switch Self.hostCredential(in: request.head.headers) {
        case .absent: credential = nil
        case .presented(let presented): credential = EnrollmentStore.credentialDigest(presented)
        case .malformed: return .now(Self.malformedAuthorization)
        }
        var checkIn = checkIn(query, request)
        checkIn.credentialDigest = credential
        let hostKey = checkIn.serverID ?? checkIn.serverName?.lowercased()
        // Group membership is decided from what the poll says about its host.
        let host = query.pollingHost
        let answered = eventLoop.makePromise(of: HTTPResponse.self)
        recorder.record(checkIn, on: eventLoop).whenComplete { [feeds, threadPool, metrics, self] recorded in
            // A check-in refused by a limit or a conflict is still served: the feed is public, and
            // the host must not lose its mitigations because of what someone else sent.
            let serial: Int64
            let member: Bool
            switch recorded {
            case .failure(let error):
                answered.succeed(Self.answer(CheckInRecordingFailed(underlying: error), logger: logger))
                return
            case .success(let committed):
                if committed.outcome == .refused(.invalidCredential) {
                    answered.succeed(Self.invalidCredential)
                    return
                }
                serial = committed.serial
                member = committed.outcome.isRecorded
            }
            feeds.noteSerial(serial)
            if let cached = feeds.cachedFeed(for: query.build, host: host, serial: serial) {
                metrics.feedCacheHits.increment()
                switch answer(with: cached, form, wait: wait, build: query.build, host: host, hostKey: hostKey, member: member, request: request, on: eventLoop) {
                case .now(let response): answered.succeed(response)
                case .later(let response): response.cascade(to: answered)
                }
                return
            }
            metrics.feedCacheMisses.increment()
            threadPool.runIfActive(eventLoop: eventLoop) { try feeds.feed(for: query.build, host: host, serial: serial) }
                .flatMap { feed in
                    answer(with: feed, form, wait: wait, build: query.build, host: host, hostKey: hostKey, member: member, request: request, on: eventLoop)
                        .future(on: eventLoop)
                }
                .recover { error in Self.answer(error, logger: logger) }
                .cascade(to: answered)
        }
        return .later(answered.futureResult)
    }

    /// The answer with `feed`: held until it changes when the client has it and asked to wait
    /// (and a poll may be held now), else at once. On `eventLoop`.
    private func answer(
        with feed: Feed, _ form: Representation, wait: Int?, build: ExchangeBuild?, host: PollingHost, hostKey: String?, member: Bool,
        request: HTTPRequest, on eventLoop: any EventLoop
    ) -> Reply {
        if let wait, Self.matches(form.ifNoneMatch, etag: feed.etag),
           let later = held.hold(
               feed: feed, build: build, host: host, form: form, hostKey: hostKey, seconds: wait, member: member,
               connection: request.connection, on: eventLoop
           ) {
            return .later(later)
        }
        var response = form.response(feed)
        response.hostKey = hostKey
        return .now(response)
    }

    /// Largest request head a held poll may keep, in bytes of header names and values: a held
    /// poll keeps its request for the wait, so big heads would make holding thousands costly.
    static let maximumHeldHeadBytes = 8 * 1024
    /// Most entity tags in the `If-None-Match` of a held poll: an agent sends one.
    static let maximumHeldTags = 4

    /// The wait a poll may be held for: it asks for one (`Prefer: wait`), is a `GET` holding a
    /// feed (`If-None-Match` with a few tags, not `*`, which no change could ever answer `200`),
    /// and its head is small. Nil: answer at once.
    static func holdableWait(_ head: HTTPRequestHead, _ form: Representation, maximum: Int) -> Int? {
        guard !form.isHead, !form.ifNoneMatch.isEmpty, form.ifNoneMatch.count <= maximumHeldTags,
              let wait = requestedWait(head.headers, maximum: maximum),
              !form.ifNoneMatch.contains(where: { $0.trimmingCharacters(in: .whitespaces) == "*" })
        else { return nil }
        var bytes = 0
        for (name, value) in head.headers { bytes += name.utf8.count + value.utf8.count }
        return bytes <= maximumHeldHeadBytes ? wait : nil
    }

    /// The wait a poll asks for with `Prefer: wait=SECONDS` (RFC 7240), cut to `maximum`; nil for
    /// none. A preference is a hint: one that cannot be read is ignored, as RFC 7240 asks, and
    /// the poll is answered at once.
    static func requestedWait(_ headers: HTTPHeaders, maximum: Int) -> Int? {
        for value in headers[canonicalForm: "Prefer"] {
            for preference in value.split(separator: ",") {
                let token = preference.split(separator: ";", maxSplits: 1).first ?? ""
                let parts = token.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces).lowercased() == "wait" else { continue }
                var text = parts[1].trimmingCharacters(in: .whitespaces)[...]
                if text.count >= 2, text.first == "\"", text.last == "\"" { text = text.dropFirst().dropLast() }
                guard text.count <= 9, let seconds = Int(text), seconds >= 1 else { return nil }
                return min(seconds, maximum)
            }
        }
        return nil
    }

    /// What a poll's Authorization header holds.
    enum PresentedCredential: Equatable {
        case absent
        /// A host credential, as an enrolled agent sends it (`Bearer ocs-host_…`).
        case presented(String)
        /// Something else, answered `401`.
        case malformed
    }

    static func hostCredential(in headers: HTTPHeaders) -> PresentedCredential {
        guard headers.contains(name: "Authorization") else { return .absent }
        guard let credential = headers.bearerToken, credential.utf8.count <= 128, credential.hasPrefix(EnrollmentStore.credentialPrefix) else {
            return .malformed
        }
        return .presented(credential)
    }

    static let malformedAuthorization = refusal("Authorization on a poll must be 'Bearer <host credential>', the credential ocs agent enroll stored")

    static let invalidCredential = refusal(
        "the host credential is not valid here (revoked, replaced by a later enrollment, or for another serverId): enroll again with a new token (ocs agent enroll)"
    )

    private static func refusal(_ message: String) -> HTTPResponse {
        var response = HTTPResponse.text(.unauthorized, message)
        response.headers.add(name: "WWW-Authenticate", value: "Bearer realm=\"ocs-host\"")
        return response
    }

    /// The response to a poll whose feed could not be had.
    private static func answer(_ error: any Error, logger: Logger) -> HTTPResponse {
        logger.error("feed request failed", metadata: ["error": "\(error)"])
        if error is CheckInRecordingFailed {
            return .text(.serviceUnavailable, "the check-in could not be recorded: retry later")
        }
        return .text(.internalServerError, "internal error: see the server log")
    }

    private func checkIn(_ query: FeedQuery, _ request: HTTPRequest) -> CheckIn {
        CheckIn(
            serverID: query.serverID, serverName: query.server, build: query.build?.description, orgID: query.orgID,
            applied: query.applied, blocked: query.blocked,
            mitigationsEnabled: query.mitigationsEnabled, dataCollectionEnabled: query.dataCollectionEnabled,
            remoteAddress: request.remoteAddress,
            userAgent: request.head.headers.first(name: "User-Agent").map(Self.kept(userAgent:)),
            time: Date()
        )
    }

    /// A User-Agent as a check-in keeps it: its first `maximumUserAgentLength` characters. One
    /// no longer in bytes is kept whole without counting its characters (grapheme breaking).
    static func kept(userAgent: String) -> String {
        userAgent.utf8.count <= maximumUserAgentLength ? userAgent : String(userAgent.prefix(maximumUserAgentLength))
    }

    /// What a request asks for besides the feed: the whole body or only headers, gzip or not,
    /// and whether it already holds the current version (`If-None-Match`).
    struct Representation: Sendable {
        var isHead: Bool
        var gzip: Bool
        var ifNoneMatch: [Substring]

        init(_ head: HTTPRequestHead) {
            isHead = head.method == .HEAD
            // HEAD answers with the identity headers: it has no body to encode.
            gzip = !isHead && Self.acceptsGzip(head.headers[canonicalForm: "Accept-Encoding"])
            ifNoneMatch = head.headers[canonicalForm: "If-None-Match"]
        }

        /// The response for `feed`: the gzip body made when it was signed, or the identity one,
        /// both shared with every other response (no copy), with the headers made for each then;
        /// `304` when the client has it.
        func response(_ feed: Feed) -> HTTPResponse {
            if FeedEndpoint.matches(ifNoneMatch, etag: feed.etag) {
                let etag = gzip ? feed.gzipETag : feed.etag
                return HTTPResponse(status: .notModified, headers: ["ETag": etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"])
            }
            return gzip
                ? HTTPResponse(status: .ok, preparedHeaders: feed.gzipHeaders, body: feed.gzipBuffer)
                : HTTPResponse(status: .ok, preparedHeaders: feed.identityHeaders, body: feed.bodyBuffer)
        }

        /// Whether `Accept-Encoding` (its comma-separated items) allows gzip: `gzip`, `x-gzip` or
        /// `*` with a non-zero quality; an explicit `gzip;q=0` refuses it whatever `*` says.
        static func acceptsGzip(_ items: [Substring]) -> Bool {
            var wildcard: Bool?
            for item in items {
                var parameters = item.split(separator: ";").makeIterator()
                guard let coding = parameters.next()?.trimmingCharacters(in: .whitespaces).lowercased() else { continue }
                var quality = 1.0
                while let parameter = parameters.next() {
                    let pair = parameter.trimmingCharacters(in: .whitespaces)
                    if pair.lowercased().hasPrefix("q=") { quality = Double(pair.dropFirst(2)) ?? 0 }
                }
                switch coding {
                case "gzip", "x-gzip": return quality > 0
                case "*": wildcard = quality > 0
                default: continue
                }
            }
            return wildcard ?? false
        }
    }

    /// Whether an `If-None-Match` list names this entity tag (weak comparison, as RFC 9110 asks),
    /// in its identity form or as the gzip variant this server tags with `-gzip`.
    static func matches(_ ifNoneMatch: [Substring], etag: String) -> Bool {
        guard !ifNoneMatch.isEmpty else { return false }
        let opaque = etag.dropFirst().dropLast()
        return ifNoneMatch.contains { candidate in
            var tag = candidate.trimmingCharacters(in: .whitespaces)[...]
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag = tag.dropFirst(2) }
            guard tag.count >= 2, tag.first == "\"", tag.last == "\"" else { return false }
            let value = tag.dropFirst().dropLast()
            return value == opaque || value == opaque + Feed.gzipETagSuffix
        }
    }

    /// The decoded query items of a request target; throws when the target is not a valid URI.
    static func queryItems(of uri: String) throws(FeedQueryError) -> [(name: String, value: String?)] {
        if let plain = plainQueryItems(of: uri) { return plain }
        guard let components = URLComponents(string: uri) else {
            throw FeedQueryError(parameter: "(request URI)", message: "is not a valid URI: percent-encode special characters")
        }
        return (components.queryItems ?? []).map { ($0.name, $0.value) }
    }

    /// The query items of a target that needs no decoding: only characters a URI may hold
    /// literally, no `%` escape and no fragment. `URLComponents` gives the same items for such a
    /// target (it decodes nothing else, `+` included); anything else goes to it. Nil: not plain.
    /// One pass over the bytes: every poll comes through here.
    static func plainQueryItems(of uri: String) -> [(name: String, value: String?)]? {
        var uri = uri
        return uri.withUTF8 { bytes -> [(name: String, value: String?)]? in
            guard bytes.allSatisfy(isLiteralURIByte) else { return nil }
            // No query, or an empty one (`URLComponents` has no items for `?` alone).
            guard let mark = bytes.firstIndex(of: UInt8(ascii: "?")), mark + 1 < bytes.count else { return [] }
            var items: [(name: String, value: String?)] = []
            var start = mark + 1
            while true {
                let end = bytes[start...].firstIndex(of: UInt8(ascii: "&")) ?? bytes.count
                if let equals = bytes[start..<end].firstIndex(of: UInt8(ascii: "=")) {
                    items.append((text(bytes, start..<equals), text(bytes, equals + 1..<end)))
                } else {
                    items.append((text(bytes, start..<end), nil))
                }
                guard end < bytes.count else { return items }
                start = end + 1
            }
        }
    }

    private static func text(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// Bytes RFC 3986 allows unescaped in a path and query: unreserved, sub-delims, `:`, `@`, `/`, `?`.
    private static func isLiteralURIByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "!"), UInt8(ascii: "$"),
             UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"),
             UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="), UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "/"),
             UInt8(ascii: "?"): true
        default: false
        }
    }
}

/// The check-in store refused a write; the poll is answered `503` so the agent retries.
struct CheckInRecordingFailed: Error {
    let underlying: any Error
}

extension FeedEndpoint {
    /// `response` to a dashboard request that may have changed what the feed serves (any method
    /// but `GET` and `HEAD`), sent only after the feed service has read the serial again: the next
    /// poll is served the change. (The admin API notes the serial its changes commit itself.)
    func servingChanges(of request: HTTPRequest, _ response: EventLoopFuture<HTTPResponse>, on eventLoop: any EventLoop) -> EventLoopFuture<HTTPResponse> {
        guard request.head.method != .GET, request.head.method != .HEAD else { return response }
        return response.flatMap { [feeds, threadPool, logger] response in
            threadPool.runIfActive(eventLoop: eventLoop) { try feeds.refreshSerial() }
                .map { _ in response }
                .recover { error in
                    // The answer stands; the serial watcher brings the change within its interval.
                    logger.error("reading the rule-set serial after a change failed", metadata: ["error": "\(error)"])
                    return response
                }
        }
    }
}
