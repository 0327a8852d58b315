import OCSDomain
import OCSStorage
import Synchronization

/// One rendered feed document and what it holds.
public struct Feed: Sendable, Equatable {
    /// The exact bytes served.
    public let body: [UInt8]
    /// Serial of the published rule set it was rendered from.
    public let serial: Int64
    /// Ids of the `Config` elements it carries, in document order.
    public let configIDs: [String]
}

/// Produces the feed for a build from the published rules, rendering each distinct feed once.
///
/// Every call checks the rule set's serial in the database, so a change made by another process
/// (`ocs rules import`) is served on the very next poll. Blocking: call off event loops.
public final class FeedService: Sendable {
    private let store: RuleStore
    private let catalog: BuildCatalog
    private let renderer = FeedRenderer()
    private let cache = Mutex(Cache())

    /// How many distinct rendered feeds are kept per rule-set serial.
    public static let cacheCapacity = 256

    private struct Cache {
        var ruleSet: PublishedRuleSet?
        var feeds: [[String]: Feed] = [:]
    }

    public init(store: RuleStore, catalog: BuildCatalog = .embedded) {
        self.store = store
        self.catalog = catalog
    }

    /// The feed a host on `build` receives; without a build, only rules that apply to every build.
    public func feed(for build: ExchangeBuild?) throws -> Feed {
        let ruleSet = try currentRuleSet()
        let configs = renderer.configs(from: ruleSet.rules, for: build, catalog: catalog)
        let key = configs.map(\.id)
        if let cached = cache.withLock({ $0.ruleSet?.serial == ruleSet.serial ? $0.feeds[key] : nil }) {
            return cached
        }
        let body = renderer.render(configs)
        let feed = Feed(body: Array(body.utf8), serial: ruleSet.serial, configIDs: key)
        cache.withLock { cache in
            guard cache.ruleSet?.serial == ruleSet.serial else { return }
            if cache.feeds.count >= Self.cacheCapacity { cache.feeds.removeAll(keepingCapacity: true) }
            cache.feeds[key] = feed
        }
        return feed
    }

    /// The published rules, re-read only when the serial in the database has moved.
    private func currentRuleSet() throws -> PublishedRuleSet {
        let serial = try store.serial()
        if let cached = cache.withLock({ $0.ruleSet }), cached.serial == serial {
            return cached
        }
        let fresh = try store.publishedSet()
        cache.withLock { cache in
            if cache.ruleSet.map({ $0.serial < fresh.serial }) ?? true {
                cache.ruleSet = fresh
                cache.feeds = [:]
            }
        }
        return fresh
    }
}
