import Metrics
import NIOCore
import NIOHTTP1
import OCSDomain
import OCSStorage
import Prometheus

/// The server's metrics in one Prometheus registry: counts, durations and gauges only, never a
/// host name, id or token. swift-metrics is bootstrapped on the same registry, so metrics that
/// libraries report through it appear at `/metrics` too.
public final class ServerMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let checkInsRecorded: Prometheus.Counter
    let checkInCommitDuration: DurationHistogram
    let checkInsRefused: [CheckInRefusal: Prometheus.Counter]
    let historyEntriesSkipped: Prometheus.Counter
    let feedCacheHits: Prometheus.Counter
    let feedCacheMisses: Prometheus.Counter
    let feedSignatures: Prometheus.Counter
    let openConnections: Prometheus.Gauge
    let tlsHandshakeFailures: Prometheus.Counter
    let knownHosts: Prometheus.Gauge
    let ruleSetSerial: Prometheus.Gauge
    let heldPolls: Prometheus.Gauge
    let heldPollsWoken: Prometheus.Counter
    let pollsNotHeld: Prometheus.Counter
    let upstreamWithoutRule: Prometheus.Gauge
    /// Fetches of Microsoft's document, by outcome: `new` (a document not kept before), `same`, `refused`, `failed`.
    let upstreamFetches: [UpstreamFetchOutcome: Prometheus.Counter]
    /// Made once, so the request path does not look them up in the registry on every request;
    /// indexed by `Route.rawValue`, not hashed.
    private let requestDurations: [DurationHistogram]
    private let pollsByStatus: [UInt: Prometheus.Counter]
    /// The count of `200` polls, nearly every poll: reached without a dictionary lookup.
    private let successfulPolls: Prometheus.Counter

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        checkInsRecorded = registry.makeCounter(descriptor: Self.name("check_ins_recorded", "total", "Check-ins committed to the database."))
        checkInCommitDuration = registry.makeDurationHistogram(
            descriptor: Self.name("check_in_commit", "seconds", "Time to commit a batch of check-ins durably."),
            buckets: Self.durationBuckets
        )
        checkInsRefused = Dictionary(uniqueKeysWithValues: CheckInRefusal.allCases.map { refusal in
            (refusal, registry.makeCounter(
                descriptor: Self.name("check_ins_refused", "total", "Check-ins not recorded (the poll was still served), by reason."),
                labels: [("reason", refusal.rawValue)]
            ))
        })
        historyEntriesSkipped = registry.makeCounter(descriptor: Self.name(
            "host_history_skipped", "total", "Changes recorded on a host without a history entry: it had added its hour's most."
        ))
        feedCacheHits = registry.makeCounter(descriptor: Self.name("feed_cache_hits", "total", "Polls answered with a feed already rendered and signed."))
        feedCacheMisses = registry.makeCounter(descriptor: Self.name("feed_cache_misses", "total", "Polls whose feed was not in memory."))
        feedSignatures = registry.makeCounter(descriptor: Self.name("feed_signatures", "total", "Feeds rendered and signed."))
        openConnections = registry.makeGauge(descriptor: Self.name("open_connections", "", "Client connections open now."))
        tlsHandshakeFailures = registry.makeCounter(descriptor: Self.name("tls_handshake_failures", "total", "TLS handshakes that failed."))
        knownHosts = registry.makeGauge(descriptor: Self.name("known_hosts", "", "Hosts that have checked in."))
        ruleSetSerial = registry.makeGauge(descriptor: Self.name("rule_set_serial", "", "Serial of the published rule set."))
        heldPolls = registry.makeGauge(descriptor: Self.name("held_polls", "", "Polls waiting for a change of their feed (Prefer: wait)."))
        heldPollsWoken = registry.makeCounter(descriptor: Self.name("held_polls_woken", "total", "Held polls answered with a changed feed before their wait passed."))
        pollsNotHeld = registry.makeCounter(descriptor: Self.name("polls_not_held", "total", "Polls that asked to wait but were answered at once: the held-poll cap was reached or the server was stopping."))
        upstreamWithoutRule = registry.makeGauge(descriptor: Self.name(
            "upstream_configs_without_rule", "", "Mitigations in the document Microsoft serves now that no rule in ocs has."
        ))
        upstreamFetches = Dictionary(uniqueKeysWithValues: UpstreamFetchOutcome.allCases.map { outcome in
            (outcome, registry.makeCounter(
                descriptor: Self.name("upstream_fetches", "total", "Fetches of Microsoft's document, by outcome (new, same, refused, failed)."),
                labels: [("outcome", outcome.rawValue)]
            ))
        })
        requestDurations = Route.allCases.map { route in
            registry.makeDurationHistogram(descriptor: Self.requestDuration, labels: [("route", route.name)], buckets: Self.durationBuckets)
        }
        let pollsByStatus = Dictionary(uniqueKeysWithValues: Self.pollStatuses.map { status in
            (status, registry.makeCounter(descriptor: Self.polls, labels: [("status", String(status))]))
        })
        self.pollsByStatus = pollsByStatus
        successfulPolls = pollsByStatus[200]!
    }

    private static let pollStatuses: [UInt] = [200, 304, 400, 404, 405, 413, 500, 503]

    /// Bootstraps swift-metrics with this registry; once per process.
    public func bootstrapMetricsSystem() {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }

    /// A poll answered with `status`.
    func poll(_ status: HTTPResponseStatus) {
        guard status != .ok else { return successfulPolls.increment() }
        (pollsByStatus[status.code] ?? registry.makeCounter(descriptor: Self.polls, labels: [("status", String(status.code))])).increment()
    }

    /// A request answered, by route.
    func request(route: Route, duration: TimeAmount) {
        requestDurations[route.rawValue].recordNanoseconds(duration.nanoseconds)
    }

    /// A connection refused or closed by a limit: `descriptors`, `pipelining`, `protocol`, `timeout`.
    func refusedConnection(_ reason: String) {
        registry.makeCounter(descriptor: Self.refusedConnections, labels: [("reason", reason)]).increment()
    }

    /// A fetch of Microsoft's document ended so.
    public func upstreamFetched(_ outcome: UpstreamFetchOutcome) {
        upstreamFetches[outcome]?.increment()
    }

    /// A feed rendered and signed.
    public func feedSigned() {
        feedSignatures.increment()
    }

    /// A check-in batch committed: what it recorded, skipped and refused, and how long it took.
    public func checkInsCommitted(_ batch: CheckInBatch, in duration: Duration) {
        var recorded: Int64 = 0
        for outcome in batch.outcomes {
            switch outcome {
            case .recorded: recorded += 1
            case .recordedWithoutHistory:
                recorded += 1
                historyEntriesSkipped.increment()
            case .refused(let refusal): checkInsRefused[refusal]?.increment()
            }
        }
        checkInsRecorded.increment(by: recorded)
        checkInCommitDuration.record(duration)
    }

    /// The text exposition format.
    func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }

    private static var polls: MetricNameDescriptor { name("polls", "total", "Polls of /getexchangemitigations answered, by status.") }
    private static var requestDuration: MetricNameDescriptor { name("request_duration", "seconds", "Time from a request's head to its response, by route.") }
    private static var refusedConnections: MetricNameDescriptor { name("refused_connections", "total", "Connections refused or closed by a limit, by reason.") }

    private static let durationBuckets: [Duration] = [
        .microseconds(100), .microseconds(500), .milliseconds(1), .milliseconds(5), .milliseconds(10),
        .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5),
    ]

    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "ocs", metricName: metric, unitName: unit, helpText: help)
    }
}
