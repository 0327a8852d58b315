import Logging
import ServiceLifecycle
import UnixSignals

/// Reads the TLS certificate and key again on each `SIGHUP`, so a renewed certificate is served
/// without a restart. New connections get it; open ones keep theirs; a failed reload keeps the
/// identity in use and logs why. Without TLS it still takes the signal (`systemctl reload`), which
/// would otherwise end the process, and logs that there is nothing to reload.
public struct TLSReloader: Service {
    let store: TLSIdentityStore?
    let logger: Logger

    public init(store: TLSIdentityStore?, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    public func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            guard let store else {
                logger.notice("SIGHUP: nothing to reload (no TLS certificate is served)")
                continue
            }
            do {
                let identity = try store.reload()
                logger.notice("reloaded the TLS certificate and key", metadata: [
                    "certificate": "\(identity.leaf.subject)", "expires": "\(identity.leaf.notValidAfter.formatted(.iso8601))",
                ])
            } catch {
                logger.error("TLS reload failed, still serving the previous certificate: \(error.description)")
            }
        }
    }
}
