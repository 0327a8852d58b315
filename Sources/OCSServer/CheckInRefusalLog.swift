import Logging
import OCSDomain
import OCSStorage
import Synchronization

/// Logs check-ins that were not recorded, without letting a flood of them flood the log: the
/// first refusal of a reason at once, then at most one line per reason and `interval`, counting
/// the refusals since the last line.
public final class CheckInRefusalLog: Sendable {
    private let logger: Logger
    private let interval: Duration
    private let lastLines = Mutex<[CheckInRefusal: Line]>([:])

    private struct Line {
        var loggedAt: ContinuousClock.Instant
        var unlogged = 0
    }

    public init(logger: Logger, interval: Duration = .seconds(60)) {
        self.logger = logger
        self.interval = interval
    }

    /// Notes a committed batch's refusals.
    public func note(_ batch: CheckInBatch) {
        var refused: [CheckInRefusal: Int] = [:]
        for case .refused(let refusal) in batch.outcomes { refused[refusal, default: 0] += 1 }
        guard !refused.isEmpty else { return }
        let now = ContinuousClock.now
        let due: [(CheckInRefusal, Int)] = lastLines.withLock { lines in
            refused.compactMap { refusal, count in
                if var line = lines[refusal], now - line.loggedAt < interval {
                    line.unlogged += count
                    lines[refusal] = line
                    return nil
                }
                let total = count + (lines[refusal]?.unlogged ?? 0)
                lines[refusal] = Line(loggedAt: now)
                return (refusal, total)
            }
        }
        for (refusal, count) in due {
            logger.warning("\(Self.message(refusal))", metadata: ["reason": "\(refusal.rawValue)", "refused": "\(count)"])
        }
    }

    static func message(_ refusal: CheckInRefusal) -> String {
        switch refusal {
        case .maximumHosts: "check-ins of new hosts are not recorded: the database holds the most hosts allowed (--max-hosts); their polls are still served"
        case .newHostRate: "check-ins of new hosts from one address are not recorded: it added its minute's most new hosts (--new-hosts-per-address); their polls are still served"
        case .nameOfIdentifiedHost: "a poll naming a host that reports a serverId came without it and was not recorded (it cannot be told from a forgery); it was still served"
        case .unauthenticated: "polls without a host credential are served but not recorded (--check-ins enrolled): enroll their hosts (ocs enrollment create, ocs agent enroll)"
        case .enrolledHost: "a poll for an enrolled host came without its credential and was not recorded; it was still served"
        case .inventoryHost: "a poll without a credential named a host that Get-ExchangeServer reports and was not recorded; it was still served"
        case .siteHost: "a poll without a credential named a host a disconnected site's check-in files report and was not recorded; it was still served"
        case .invalidCredential: "a poll carried a host credential no host holds (revoked, replaced by a re-enrollment, or another host's serverId): answered 401"
        }
    }
}
