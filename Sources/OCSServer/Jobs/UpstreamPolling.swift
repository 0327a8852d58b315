import Foundation
import Logging
import NIOPosix
import OCSDomain
import OCSOperations
import OCSStorage
import ServiceLifecycle

/// How a fetch of Microsoft's document ended, as `/metrics` counts it.
public enum UpstreamFetchOutcome: String, CaseIterable, Sendable {
    /// A document not kept before: Microsoft changed what it serves.
    case new
    /// The document kept already.
    case same
    /// Fetched, but not Microsoft's document (its signature or time-stamp does not verify, or it
    /// is malformed): nothing kept, and logged each time, since someone may be forging it.
    case refused
    /// Unreachable, or an answer other than 200: nothing kept.
    case failed
}

/// Fetches Microsoft's document once at start and then every `interval` (`ocs serve
/// --upstream-interval`), as a service of the server's `ServiceGroup`, off the request path. Each
/// document is verified and kept as `UpstreamOperations.keep` does. A failed fetch keeps what was
/// kept and is counted; it is logged once per streak of failures (and once more when fetching
/// works again), not every interval; a document that does not verify is logged every time. Readiness does not depend on it: Microsoft being unreachable is no
/// reason to stop serving the fleet.
public struct UpstreamPolling: Service {
    let upstream: UpstreamOperations
    let url: URL
    let interval: Duration
    /// Gets the bytes at a URL (the command line's HTTP client, through the proxy it is given).
    let download: @Sendable (URL) async throws -> Data
    let metrics: ServerMetrics
    /// Where the database write runs: the stores block.
    let threadPool: NIOThreadPool
    let logger: Logger

    public init(
        upstream: UpstreamOperations, url: URL, interval: Duration, metrics: ServerMetrics, threadPool: NIOThreadPool, logger: Logger,
        download: @escaping @Sendable (URL) async throws -> Data
    ) {
        self.upstream = upstream
        self.url = url
        self.interval = interval
        self.download = download
        self.metrics = metrics
        self.threadPool = threadPool
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

    /// One fetch; returns the length of the failure streak after it. A graceful stop cancels the
    /// download rather than wait out its deadline.
    func fetch(failuresBefore failures: Int) async -> Int {
        let reason: String
        do {
            let document = try await cancelWhenGracefulShutdown { [download, url] in try await download(url) }
            let verified: UpstreamStore.Verified
            do {
                verified = try await upstream.verify(document)
            } catch {
                metrics.upstreamFetched(.refused)
                logger.warning("the document fetched as Microsoft's does not verify; nothing kept", metadata: ["url": "\(url)", "error": "\(error.description)"])
                return failures + 1
            }
            let kept = try await threadPool.runIfActive { [upstream, url] in
                try upstream.record(document, verified: verified, origin: url.absoluteString, context: Self.actor)
            }
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
