import Foundation
import Logging
import OCSDomain
import OCSOperations
import ServiceLifecycle

/// How a fetch of Microsoft's document ended, as `/metrics` counts it.
public enum UpstreamFetchOutcome: String, CaseIterable, Sendable {
    /// A document not kept before: Microsoft changed what it serves.
    case new
    /// The document kept already.
    case same
    /// Unreachable, refused, or not Microsoft's document: nothing kept.
    case failed
}

/// Fetches Microsoft's document once at start and then every `interval` (`ocs serve
/// --upstream-interval`), as a service of the server's `ServiceGroup`, off the request path. Each
/// document is verified and kept by `UpstreamOperations.keep`. A failed fetch keeps what was kept
/// and is counted; it is logged once per streak of failures (and once more when fetching works
/// again), not every interval. Readiness does not depend on it: Microsoft being unreachable is no
/// reason to stop serving the fleet.
public struct UpstreamPolling: Service {
    let upstream: UpstreamOperations
    let url: URL
    let interval: Duration
    /// Gets the bytes at a URL (the command line's HTTP client, through the proxy it is given).
    let download: @Sendable (URL) async throws -> Data
    let metrics: ServerMetrics
    let logger: Logger

    public init(
        upstream: UpstreamOperations, url: URL, interval: Duration, metrics: ServerMetrics, logger: Logger,
        download: @escaping @Sendable (URL) async throws -> Data
    ) {
        self.upstream = upstream
        self.url = url
        self.interval = interval
        self.download = download
        self.metrics = metrics
        self.logger = logger
    }

    /// Who a kept document is audited as.
    static let actor = ChangeContext(actor: "upstream-fetch")

    public func run() async throws {
        var failures = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            failures = await fetch(failuresBefore: failures)
            // Cancelled by the graceful stop: the loop ends instead of waiting out the interval.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One fetch; returns the length of the failure streak after it.
    func fetch(failuresBefore failures: Int) async -> Int {
        let reason: String
        do {
            let document = try await download(url)
            let kept = try await upstream.keep(document, origin: url.absoluteString, context: Self.actor)
            metrics.upstreamFetched(kept.isNew ? .new : .same)
            if failures > 0 {
                logger.notice("fetching Microsoft's document works again", metadata: ["failuresBefore": "\(failures)", "url": "\(url)"])
            }
            if kept.isNew {
                var metadata: Logger.Metadata = ["digest": "\(kept.document.digest)", "configs": "\(kept.document.configIDs.joined(separator: ","))"]
                if !kept.withoutRule.isEmpty { metadata["withoutRule"] = "\(kept.withoutRule.joined(separator: ","))" }
                logger.notice("Microsoft serves a document not seen before", metadata: metadata)
            }
            return 0
        } catch let error as OperationError {
            reason = error.description
        } catch {
            reason = "\(error)"
        }
        metrics.upstreamFetched(.failed)
        if failures == 0 {
            logger.error("fetching Microsoft's document failed; what was kept stays, and this is logged again only once it works", metadata: [
                "url": "\(url)", "error": "\(reason)",
            ])
        } else {
            logger.debug("fetching Microsoft's document failed again", metadata: ["failures": "\(failures + 1)", "error": "\(reason)"])
        }
        return failures + 1
    }
}
