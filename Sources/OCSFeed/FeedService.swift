import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import OCSDomain
import OCSSigning
import OCSStorage
import Synchronization

/// One signed feed document and what it holds, in the forms it is served in.
///
/// A class: every poll takes one from the cache shared by all event loops, and taking a
/// reference retains one object where a struct of buffers and strings retained each of them,
/// every count an atomic write to memory the other loops also write.
public final class Feed: Sendable, Equatable {
    /// The exact bytes served.
    public let body: [UInt8]
    /// Serial of the published rule set it was rendered from.
    public let serial: Int64
    /// Ids of the `Config` elements it carries, in document order.
    public let configIDs: [String]
    /// Strong entity tag over `body`, quoted.
    public let etag: String
    /// `body` in a buffer every response shares (a write never copies or changes it).
    public let bodyBuffer: ByteBuffer
    /// `body` gzipped, once, when the feed was signed: the `Content-Encoding: gzip` representation.
    public let gzipBuffer: ByteBuffer
    /// Strong entity tag of the gzip representation: `etag` with a `-gzip` suffix.
    public let gzipETag: String
    /// When half its validity has passed: from then on it is signed again, with a later `expires`.
    public let refreshAfter: Date
    /// The headers of a `200` with `bodyBuffer`, `Content-Length` included, made once: a response
    /// shares them rather than building its own.
    public let identityHeaders: HTTPHeaders
    /// The same for `gzipBuffer`, with `Content-Encoding: gzip` and `gzipETag`.
    public let gzipHeaders: HTTPHeaders

    /// Suffix that makes the gzip representation's entity tag from the document's.
    public static let gzipETagSuffix = "-gzip"

    /// `refreshAfter`: when it is signed again (a bundle's document never is: the distant future).
    init(body: [UInt8], serial: Int64, configIDs: [String], refreshAfter: Date) {
        let digest = SHA256.hash(data: body).prefix(16).map { String(format: "%02x", $0) }.joined()
        let etag = "\"\(digest)\""
        self.body = body
        self.refreshAfter = refreshAfter
        self.serial = serial
        self.configIDs = configIDs
        self.etag = etag
        bodyBuffer = ByteBuffer(bytes: body)
        gzipBuffer = ByteBuffer(bytes: Gzip.compress(body))
        gzipETag = String(etag.dropLast()) + Self.gzipETagSuffix + "\""
        identityHeaders = Self.headers(etag: etag, length: bodyBuffer.readableBytes, gzip: false)
        gzipHeaders = Self.headers(etag: gzipETag, length: gzipBuffer.readableBytes, gzip: true)
    }

    /// Every feed response's headers, then its representation's: the entity tag, the coding and the length.
    private static func headers(etag: String, length: Int, gzip: Bool) -> HTTPHeaders {
        var headers: HTTPHeaders = [
            "ETag": etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding",
            "Content-Type": "application/xml; charset=utf-8",
        ]
        if gzip { headers.add(name: "Content-Encoding", value: "gzip") }
        headers.add(name: "Content-Length", value: String(length))
        return headers
    }

    /// The same document: its buffers, gzip form and tags all follow from these.
    public static func == (lhs: Feed, rhs: Feed) -> Bool {
        lhs.body == rhs.body && lhs.serial == rhs.serial && lhs.configIDs == rhs.configIDs && lhs.refreshAfter == rhs.refreshAfter
    }
}

/// Produces the signed feed for a build and a polling host from the published rules: a host
/// receives the rules released to everyone and those released to a group it is in.
///
/// Each distinct feed (rule-set serial and applicable configs) is rendered, signed and gzipped
/// once, then served from memory. Each feed carries `expires`: the start of its signing window
/// plus `validity`. Windows are half a validity long and counted from the rule set's `issued`
/// time, so a changed rule set is signed with a full validity, a host always receives a feed with
/// half its validity left at least, and every replica on one database signs the same bytes for
/// the same state (RSA PKCS#1 v1.5 signatures are deterministic): ETags hold behind a load balancer.
///
/// Freshness: the service holds the latest rule-set serial it has learnt (`knownSerial`), and
/// `cachedFeed(for:)` serves only feeds rendered at that serial, without any database trip. The
/// serial is raised by `refreshSerial()` (the server calls it after every change made through
/// its API, before answering, and when other processes commit: `SerialWatcher`), by the serial
/// a check-in commit returns (`noteSerial`), and by every blocking `feed(for:)` call.
///
/// Feeds are looked up by build and the set of rules the host receives (never by host), and
/// shared by every such key that gets the same configs (`byConfigs`). Blocking methods are
/// marked: call them off event loops.
///
/// A disconnected site's instance signs nothing: once it imported a bundle (`BundleStore`), it
/// serves the bundle's documents verbatim, picked by the same build and rule set, with no signer.
/// Importing a bundle moves the serial, so a new one is served as a changed rule set is.
public final class FeedService: Sendable {
    private let store: RuleStore
    /// Signs the feed of the published rules; nil on an instance that only serves bundles.
    public let signer: FeedSigner?
    private let bundles: BundleStore?
    private let renderer = FeedRenderer()
    private let cache = Mutex(Cache())
    /// Latest serial learnt from the database; -1 until the first read.
    private let latestSerial = Atomic<Int64>(-1)
    /// Told of each serial learnt that is higher than every one before (held polls wake on it).
    private let serialObservers = Mutex<[@Sendable (Int64) -> Void]>([])

    /// Most feeds kept per lookup table; a full table is emptied and refilled as polls arrive.
    public static let cacheCapacity = 4096

    private struct Cache {
        var ruleSet: PublishedRuleSet?
        /// The bundle served instead of `ruleSet`, when one was imported.
        var served: ServedBundle?
        /// Feeds by build (nil: polls without a build) and the rules received, then by the configs they carry.
        var byBuild: [Key: Feed] = [:]
        var byConfigs: [[String]: Feed] = [:]
    }

    /// A build and the ids of the rules a host receives (nil: every published rule); never a host,
    /// so the table stays as small as the number of distinct feeds.
    private struct Key: Hashable {
        let build: ExchangeBuild?
        let received: [String]?
    }

    private let signed: @Sendable () -> Void
    /// How long a signed feed is valid: its `expires` is its signing time plus this.
    public let validity: TimeInterval
    private let clock: @Sendable () -> Date

    /// A day: `ocs serve --feed-validity`'s default.
    public static let defaultValidity: TimeInterval = 86400

    /// `signed` hears of each feed rendered and signed; `clock` tells the signing time (tests move it).
    /// `bundles`: where an imported bundle is kept, which is served instead of signing.
    public init(
        store: RuleStore, signer: FeedSigner?, bundles: BundleStore? = nil, validity: TimeInterval = FeedService.defaultValidity,
        clock: @escaping @Sendable () -> Date = { Date() }, signed: @escaping @Sendable () -> Void = {}
    ) {
        self.store = store
        self.signer = signer
        self.bundles = bundles
        self.validity = validity
        self.clock = clock
        self.signed = signed
    }

    /// The feed a host on `build` receives; without a build, only rules that apply to every build.
    /// Reads the serial itself: for callers that have not just read it. Blocking.
    public func feed(for build: ExchangeBuild?, host: PollingHost = .anonymous) throws -> Feed {
        try feed(for: build, host: host, serial: refreshSerial())
    }

    /// The latest rule-set serial learnt, nil before the first read.
    public var knownSerial: Int64? {
        let serial = latestSerial.load(ordering: .acquiring)
        return serial < 0 ? nil : serial
    }

    /// Records a serial read from the database; the known serial only ever grows.
    public func noteSerial(_ serial: Int64) {
        var known = latestSerial.load(ordering: .relaxed)
        while serial > known {
            let (exchanged, original) = latestSerial.compareExchange(expected: known, desired: serial, ordering: .acquiringAndReleasing)
            if exchanged {
                for observer in serialObservers.withLock({ $0 }) { observer(serial) }
                return
            }
            known = original
        }
    }

    /// Calls `observer` with every serial learnt that is higher than all learnt before, on the
    /// thread that learnt it (an event loop, the thread pool, the serial watcher): it must not block.
    public func observeSerial(_ observer: @escaping @Sendable (Int64) -> Void) {
        serialObservers.withLock { $0.append(observer) }
    }

    /// Reads the serial from the database and records it: after this returns, polls are served
    /// feeds at least as new as every change committed before the call. Blocking.
    @discardableResult
    public func refreshSerial() throws -> Int64 {
        let serial = try store.serial()
        noteSerial(serial)
        return serial
    }

    /// The feed for `build` and `host` from memory when it was rendered at the known serial and is
    /// still fresh: no I/O, for event loops. Nil means `feed(for:host:serial:)` off the loop.
    public func cachedFeed(for build: ExchangeBuild?, host: PollingHost = .anonymous) -> Feed? {
        knownSerial.flatMap { cachedFeed(for: build, host: host, serial: $0) }
    }

    /// The feed for `build` and `host` from memory, when it was already rendered at `serial` and
    /// is still fresh. Never blocks on I/O: event loops call it, and fall back to
    /// `feed(for:host:serial:)` off the loop.
    public func cachedFeed(for build: ExchangeBuild?, host: PollingHost = .anonymous, serial: Int64) -> Feed? {
        fresh(cache.withLock { cache in
            if let served = cache.served, served.serial == serial { return served.feed(for: build, host: host) }
            guard let ruleSet = cache.ruleSet, ruleSet.serial == serial else { return nil }
            return cache.byBuild[Key(build: build, received: ruleSet.rollout.receivedIDs(of: ruleSet.rules, for: host))]
        })
    }

    /// `feed` while less than half its validity has passed; after that it is due to be signed again.
    private func fresh(_ feed: Feed?) -> Feed? {
        guard let feed, clock() < feed.refreshAfter else { return nil }
        return feed
    }

    /// The feed for `build` and `host` at `serial` (just read from the database) or later;
    /// renders and signs it when no other key with the same configs did. Blocking.
    public func feed(for build: ExchangeBuild?, host: PollingHost = .anonymous, serial: Int64) throws -> Feed {
        noteSerial(serial)
        if let cached = cachedFeed(for: build, host: host, serial: serial) {
            return cached
        }
        let ruleSet: PublishedRuleSet
        switch try current(serial: serial) {
        case .bundle(let served):
            guard let feed = served.feed(for: build, host: host) else { throw NothingToServe() }
            return feed
        case .rules(let rules): ruleSet = rules
        }
        let received = ruleSet.rollout.rules(ruleSet.rules, for: host)
        let configs = renderer.configs(from: received, for: build, catalog: ruleSet.catalog)
        let key = configs.map(\.id)
        let rendered = try fresh(cache.withLock { $0.ruleSet?.serial == ruleSet.serial ? $0.byConfigs[key] : nil })
            ?? render(configs, of: ruleSet)
        cache.withLock { cache in
            guard cache.ruleSet?.serial == ruleSet.serial else { return }
            if cache.byBuild.count >= Self.cacheCapacity { cache.byBuild.removeAll(keepingCapacity: true) }
            if cache.byConfigs.count >= Self.cacheCapacity { cache.byConfigs.removeAll(keepingCapacity: true) }
            cache.byBuild[Key(build: build, received: ruleSet.rollout.receivedIDs(of: ruleSet.rules, for: host))] = rendered
            cache.byConfigs[key] = rendered
        }
        return rendered
    }

    private func render(_ configs: [Mitigation], of ruleSet: PublishedRuleSet) throws -> Feed {
        guard let signer else { throw NothingToServe() }
        let window = signingWindow(issued: ruleSet.issued, at: clock())
        let expires = FeedTime.format(window.addingTimeInterval(validity))
        let document = renderer.render(configs, rootAttributes: [("serial", String(ruleSet.serial)), ("issued", ruleSet.issued), ("expires", expires)])
        let body = try signer.sign(document)
        signed()
        return Feed(body: body, serial: ruleSet.serial, configIDs: configs.map(\.id), refreshAfter: window.addingTimeInterval(validity / 2))
    }

    /// Why this instance cannot be served now, for `/readyz`: a signing certificate not valid now,
    /// or a bundle served that expired. Blocking: it reads the bundle when none was read yet.
    public func servingProblem(at now: Date = Date()) throws -> String? {
        if case .bundle(let served) = try current(serial: refreshSerial()) {
            guard now < served.bundle.expires else {
                return "the imported bundle expired at \(FeedTime.format(served.bundle.expires)): agents refuse its feeds; import a newer one"
            }
            return nil
        }
        guard let certificate = signer?.identity.certificate else { return "no signing key and no imported bundle" }
        guard now >= certificate.notValidBefore, now <= certificate.notValidAfter else {
            return "the signing certificate is not valid now: agents would refuse the feed"
        }
        return nil
    }

    /// The start of the signing window `now` is in: `issued` plus a whole number of half
    /// validities (`issued` itself when the clock is behind it). Whole seconds, as `expires` is written.
    func signingWindow(issued: String, at now: Date) -> Date {
        guard let start = FeedTime.parse(issued) else { return now }
        let half = (validity / 2).rounded(.down)
        let elapsed = now.timeIntervalSince(start)
        guard elapsed > 0, half >= 1 else { return start }
        return start.addingTimeInterval((elapsed / half).rounded(.down) * half)
    }

    /// What is served at `serial` or later: the imported bundle, else the published rules.
    private enum Current {
        case bundle(ServedBundle)
        case rules(PublishedRuleSet)
    }

    /// What is served at `serial` or later, re-read only when the serial has moved.
    private func current(serial: Int64) throws -> Current {
        if let served = cache.withLock({ $0.served }), served.serial >= serial {
            return .bundle(served)
        }
        if let cached = cache.withLock({ $0.ruleSet }), cached.serial == serial {
            return .rules(cached)
        }
        if let kept = try bundles?.currentWithSerial() {
            let served = try ServedBundle(bundle: FeedBundle.stored(kept.bundle.body, certificateDER: kept.bundle.certificate), serial: kept.serial)
            noteSerial(kept.serial)
            cache.withLock { cache in
                if cache.served.map({ $0.serial < served.serial }) ?? true { cache.served = served }
            }
            return .bundle(served)
        }
        return .rules(try currentRuleSet())
    }

    /// The published rules, read now.
    private func currentRuleSet() throws -> PublishedRuleSet {
        let fresh = try store.publishedSet()
        noteSerial(fresh.serial)
        cache.withLock { cache in
            if cache.ruleSet.map({ $0.serial < fresh.serial }) ?? true {
                cache.ruleSet = fresh
                cache.byBuild = [:]
                cache.byConfigs = [:]
            }
        }
        return fresh
    }
}

/// A bundle as served: each document made a `Feed` once, at the serial the bundle was read at
/// (its import moved it), never signed again.
private struct ServedBundle: Sendable {
    let bundle: FeedBundle
    let serial: Int64
    let feeds: [Feed]

    init(bundle: FeedBundle, serial: Int64) {
        self.bundle = bundle
        self.serial = serial
        feeds = bundle.documents.map { Feed(body: $0.body, serial: serial, configIDs: $0.configIDs, refreshAfter: .distantFuture) }
    }

    /// The document of the host's build and rule set, as the central instance would serve it.
    func feed(for build: ExchangeBuild?, host: PollingHost) -> Feed? {
        bundle.document(for: build, received: bundle.rollout.receivedIDs(ofIDs: bundle.ruleIDs, for: host)).map { feeds[$0] }
    }
}

/// An instance with neither a signing key nor an imported bundle has no feed to serve.
struct NothingToServe: Error, CustomStringConvertible {
    var description: String { "no signing key and no imported bundle: nothing to serve" }
}
