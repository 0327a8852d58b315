import NIOCore
import NIOHTTP1
import NIOPosix
import OCSOperations
import OCSStorage

/// `GET /metrics`: the Prometheus text exposition, no token. Counts and gauges only; the gauges
/// read from the database (known hosts, the rule-set serial) are refreshed off the event loop
/// on each scrape, as is how many of Microsoft's mitigations no rule in ocs has.
struct MetricsEndpoint: Sendable {
    static let path = "/metrics"

    let metrics: ServerMetrics
    let checkIns: CheckInStore
    let rules: RuleStore
    let upstream: UpstreamOperations
    let threadPool: NIOThreadPool

    func respond(to request: HTTPRequest, on eventLoop: any EventLoop) -> EventLoopFuture<HTTPResponse> {
        threadPool.runIfActive(eventLoop: eventLoop) { [metrics, checkIns, rules, upstream] in
            metrics.knownHosts.set(Int64(try checkIns.hostCount()))
            metrics.ruleSetSerial.set(try rules.serial())
            metrics.upstreamWithoutRule.set(Int64(try upstream.status().withoutRule.count))
            return HTTPResponse(
                status: .ok,
                headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"],
                body: ByteBuffer(bytes: metrics.exposition())
            )
        }
    }
}
