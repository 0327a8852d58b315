import Foundation
import OCSSigning

/// Who the agent polls as: the facts the EM service sends.
public struct AgentIdentity: Sendable, Equatable {
    public var build: String
    public var name: String
    public var serverID: String?
    public var orgID: String?
    public var blocked: [String]
    public var autoApply: Bool
    public var dataCollection: Bool

    public init(build: String, name: String, serverID: String? = nil, orgID: String? = nil, blocked: [String] = [], autoApply: Bool = true, dataCollection: Bool = true) {
        self.build = build
        self.name = name
        self.serverID = serverID
        self.orgID = orgID
        self.blocked = blocked
        self.autoApply = autoApply
        self.dataCollection = dataCollection
    }

    /// The poll's query, in the parameter names `FeedQuery` reads.
    public func queryItems(applied: [String]) -> [URLQueryItem] {
        var items = [URLQueryItem(name: "build", value: build), URLQueryItem(name: "server", value: name)]
        if let serverID { items.append(URLQueryItem(name: "serverId", value: serverID)) }
        if let orgID { items.append(URLQueryItem(name: "orgId", value: orgID)) }
        if !applied.isEmpty { items.append(URLQueryItem(name: "applied", value: applied.joined(separator: ","))) }
        if !blocked.isEmpty { items.append(URLQueryItem(name: "blocked", value: blocked.joined(separator: ","))) }
        items.append(URLQueryItem(name: "mitigationsEnabled", value: autoApply ? "true" : "false"))
        items.append(URLQueryItem(name: "dataCollectionEnabled", value: dataCollection ? "true" : "false"))
        return items
    }

    /// The poll URL: the server's base URL with `/getexchangemitigations` and the query.
    public func pollURL(server: URL, applied: [String]) throws(AgentError) -> URL {
        guard var components = URLComponents(url: server, resolvingAgainstBaseURL: false),
              let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https", components.host != nil
        else { throw .invalidURL("'\(server.absoluteString)' is not an http:// or https:// URL") }
        if !components.path.lowercased().hasSuffix("/getexchangemitigations") {
            components.path = (components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path) + "/getexchangemitigations"
        }
        components.queryItems = queryItems(applied: applied)
        // `+` is not escaped by URLComponents but means a space to form decoders.
        components.percentEncodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        guard let url = components.url else { throw .invalidURL("cannot build the poll URL") }
        return url
    }
}

/// One poll's result.
public struct PollOutcome: Sendable, Equatable {
    public let feed: FeedVerifier.VerifiedFeed
    public let change: MitigationChange
    public let state: AgentState
}

/// What a poll that may wait for a change brought back.
public enum WaitOutcome: Sendable, Equatable {
    /// A new feed, verified and checked against the state.
    case changed(PollOutcome)
    /// The feed the host holds is still current (`304`). `held`: the server applied the wait
    /// (`Preference-Applied`), so the next poll may follow at once; otherwise it did not (its cap
    /// was reached, or it does not hold polls) and the agent waits its interval.
    case unchanged(held: Bool)
}

/// A poll's answer before verification: a document, or word that the host's feed is current.
public enum FetchedFeed: Sendable, Equatable {
    case document([UInt8], etag: String?)
    case notModified(held: Bool)
}

/// An EM-compatible agent: poll, verify against pinned trust, refuse rollback and expired feeds,
/// apply the change.
public struct EMAgent: Sendable {
    public let server: URL
    public let fetcher: FeedFetcher
    public let verifier: FeedVerifier
    /// The host credential enrollment gave (`ocs agent enroll`), sent with every poll so the
    /// server counts the check-in as this host's; nil before enrolling.
    public let credential: String?

    public init(server: URL, fetcher: FeedFetcher, verifier: FeedVerifier, credential: String? = nil) {
        self.server = server
        self.fetcher = fetcher
        self.verifier = verifier
        self.credential = credential
    }

    /// Enrolls the host `identity` names (its serverId is required) with `server`, with a one-time
    /// enrollment token, returning the credential its polls carry from now on.
    public static func enroll(with server: URL, fetcher: FeedFetcher, as identity: AgentIdentity, token: String) async throws(AgentError) -> String {
        guard let serverID = identity.serverID else { throw .invalidURL("enrollment needs the host's serverId (--server-id)") }
        let url = server.appendingPathComponent("enroll")
        guard let body = try? JSONSerialization.data(withJSONObject: ["serverId": serverID, "server": identity.name], options: [.sortedKeys]) else {
            throw .invalidURL("cannot encode the enrollment request")
        }
        let response = try await fetcher.post(url, json: Array(body), headers: [("Authorization", "Bearer " + token)])
        let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        guard response.status == 201 else {
            let message = (object?["error"] as? String) ?? ((try? JSONSerialization.jsonObject(with: Data(response.body)) as? [[String: Any]])?.first?["message"] as? String)
            throw .httpStatus(response.status, String((message ?? "the server refused the enrollment").prefix(300)))
        }
        guard let credential = object?["credential"] as? String, credential.hasPrefix("ocs-host_"), credential.utf8.count <= 128 else {
            throw .httpStatus(response.status, "the enrollment answer holds no host credential")
        }
        return credential
    }

    /// Polls as `identity` from `state`; the caller stores the outcome's state.
    /// The feed is fetched and verified whatever the host holds (no `If-None-Match`).
    public func poll(as identity: AgentIdentity, state: AgentState, at time: Date = Date()) async throws(AgentError) -> PollOutcome {
        var fresh = state
        fresh.etag = nil
        guard case .changed(let outcome) = try await poll(as: identity, state: fresh, wait: nil, at: time) else {
            throw .httpStatus(304, "the server answered 304 to a poll holding no feed")
        }
        return outcome
    }

    /// Polls as `identity` holding the feed `state` accepted (`If-None-Match`), asking the server
    /// to hold the poll up to `wait` seconds until that feed changes (`Prefer: wait`, nil: answer
    /// at once). The caller stores a changed outcome's state.
    public func poll(as identity: AgentIdentity, state: AgentState, wait: Int?, at time: Date = Date()) async throws(AgentError) -> WaitOutcome {
        switch try await fetch(as: identity, applied: state.applied, etag: state.etag, wait: wait) {
        case .notModified(let held):
            return .unchanged(held: held)
        case .document(let body, let etag):
            let feed = try await verify(body, at: time)
            return .changed(try Self.accept(feed, etag: etag, as: identity, state: state))
        }
    }

    /// Reports what the host applied now, rather than on its next poll: one poll that does not
    /// wait, holding the feed just accepted, so the server records the check-in and answers `304`.
    /// A feed changed again in between is returned, to be applied as any other.
    public func report(as identity: AgentIdentity, state: AgentState, at time: Date = Date()) async throws(AgentError) -> PollOutcome? {
        guard case .changed(let outcome) = try await poll(as: identity, state: state, wait: nil, at: time) else { return nil }
        return outcome
    }

    /// A poll's answer: the document and its `ETag`, or `304` when `etag` is still current.
    public func fetch(as identity: AgentIdentity, applied: [String], etag: String?, wait: Int?) async throws(AgentError) -> FetchedFeed {
        let url = try identity.pollURL(server: server, applied: applied)
        var headers = credential.map { [("Authorization", "Bearer " + $0)] } ?? []
        if let etag {
            headers.append(("If-None-Match", etag))
            if let wait { headers.append(("Prefer", "wait=\(wait)")) }
        }
        let waiting = etag == nil ? 0 : wait ?? 0
        let response = try await fetcher.get(url, headers: headers, waiting: .seconds(Int64(waiting)))
        switch response.status {
        case 200:
            return .document(response.body, etag: response.header("ETag"))
        case 304 where etag != nil:
            return .notModified(held: response.header("Preference-Applied")?.lowercased().hasPrefix("wait=") == true)
        default:
            let text = String(decoding: response.body.prefix(200), as: UTF8.self)
                .split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            throw .httpStatus(response.status, text.isEmpty ? "the server did not serve the feed" : text)
        }
    }

    /// The verified feed, judged at `time`: its certificates and its `expires`.
    public func verify(_ body: [UInt8], at time: Date = Date()) async throws(AgentError) -> FeedVerifier.VerifiedFeed {
        do {
            return try await verifier.verify(Data(body), at: time)
        } catch .feedExpired(let expires, let time) {
            throw .expired(FeedVerificationError.feedExpired(expires: expires, at: time).description)
        } catch {
            throw .signature(error.description)
        }
    }

    /// Checks the verified feed against the state (rollback) and computes the change. The feed must
    /// carry `expires` (the verifier has refused it if that had passed): ocs signs one into every
    /// feed, and requiring it keeps a feed that never expires, such as Microsoft's, from being accepted.
    /// `etag`: the one the feed was served with, kept so the next poll can send it.
    public static func accept(_ feed: FeedVerifier.VerifiedFeed, etag: String? = nil, as identity: AgentIdentity, state: AgentState) throws(AgentError) -> PollOutcome {
        guard feed.expires != nil else {
            throw .expired("the feed carries no expires time, so it would never expire: ocs signs one into every feed")
        }
        var serial: Int?
        if let text = feed.serial {
            guard let value = Int(text), value >= 0 else { throw .signature("the feed's serial '\(text.prefix(40))' is not a number") }
            serial = value
        }
        try checkOrder(serial: serial, issued: feed.issued, state: state)
        for id in feed.configIDs where !MitigationChange.isValidID(id) {
            throw .signature("the feed holds a Config id '\(id.prefix(40))' that is not a mitigation id")
        }
        let change = MitigationChange(feed: feed.configIDs, applied: state.applied, blocked: identity.blocked, autoApply: identity.autoApply)
        let newState = AgentState(highestSerial: serial ?? state.highestSerial, issued: feed.issued ?? state.issued, applied: change.applied, etag: etag)
        return PollOutcome(feed: feed, change: change, state: newState)
    }

    /// Rollback: the serial is the order. A lower serial is older, whatever its `issued` says; a
    /// higher one is newer even when its `issued` is earlier (a server clock fixed after it ran fast:
    /// ocs keeps `issued` from going back, but a feed signed before that fix may still be the
    /// newest an agent sees). The same serial must carry the same `issued`, or two different
    /// feeds were signed under one serial (a database restored or recreated). While no serial was
    /// accepted, feeds are ordered by their `issued` time.
    static func checkOrder(serial: Int?, issued: String?, state: AgentState) throws(AgentError) {
        if let highest = state.highestSerial {
            guard let serial else { throw .rollback("the feed has no serial; serial \(highest) was accepted before") }
            guard serial >= highest else { throw .rollback("the feed's serial \(serial) is lower than serial \(highest) accepted before") }
        }
        guard let accepted = state.issued else { return }
        guard let issued else { throw .rollback("the feed has no issued time; \(accepted) was accepted before") }
        guard let issuedDate = parseTime(issued) else { throw .rollback("the feed's issued time '\(issued.prefix(40))' is not an ISO 8601 time") }
        guard let acceptedDate = parseTime(accepted) else { throw .rollback("the issued time '\(accepted.prefix(40))' accepted before is not an ISO 8601 time") }
        if let highest = state.highestSerial {
            if serial == highest, issuedDate != acceptedDate {
                throw .rollback("the feed's serial \(highest) says issued \(issued), but serial \(highest) accepted before was issued \(accepted)")
            }
        } else if issuedDate < acceptedDate {
            throw .rollback("the feed was issued \(issued), before \(accepted) accepted before")
        }
    }

    static func parseTime(_ text: String) -> Date? {
        try? Date(text, strategy: .iso8601)
    }
}
