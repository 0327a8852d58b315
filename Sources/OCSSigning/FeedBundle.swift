import Foundation
import OCSDomain
import X509

/// Every signed feed a disconnected site's hosts can need, as the central instance signed them
/// (`ocs bundle export`), for a site instance that holds no signing key to serve verbatim
/// (`ocs bundle import`).
///
/// A site answers a poll as the central instance would: the host's rule set (`Rollout`, by the
/// groups it is in) and its build pick one document. So a bundle holds, for every set of rules
/// some host can receive and every build the central catalog and fleet know (and none), the
/// document that host gets, each distinct document once. A build the bundle lacks is served the
/// no-build document: the rules that apply to every build, which every build's feed also holds.
public struct FeedBundle: Sendable, Equatable {
    /// The central rule set's serial and `issued`, as every document carries them.
    public let serial: Int64
    public let issued: String
    public let exportedAt: Date
    /// When every document in it expires: the bundle is refused after, and its feeds with it.
    public let expires: Date
    /// The published rules' ids, in the order `Rollout.receivedIDs(ofIDs:for:)` reads them.
    public let ruleIDs: [String]
    public let rollout: Rollout
    /// The signed documents, each distinct one once.
    public let documents: [Document]
    public let feeds: [Feed]

    /// A signed document, exactly as served, and the ids of the configs it carries.
    public struct Document: Sendable, Equatable {
        public let body: [UInt8]
        public let configIDs: [String]
    }

    /// Which document a host on `build` (nil: a poll without one) receiving `received` (nil:
    /// every rule) is served.
    public struct Feed: Sendable, Equatable {
        public let build: ExchangeBuild?
        public let received: [String]?
        public let document: Int
    }

    /// Each feed's document, by build and rule set.
    private let index: [FeedKey: Int]

    private struct FeedKey: Hashable, Sendable {
        let build: ExchangeBuild?
        let received: [String]?
    }

    init(serial: Int64, issued: String, exportedAt: Date, expires: Date, ruleIDs: [String], rollout: Rollout, documents: [Document], feeds: [Feed]) {
        self.serial = serial
        self.issued = issued
        self.exportedAt = exportedAt
        self.expires = expires
        self.ruleIDs = ruleIDs
        self.rollout = rollout
        self.documents = documents
        self.feeds = feeds
        index = Dictionary(feeds.map { (FeedKey(build: $0.build, received: $0.received), $0.document) }, uniquingKeysWith: { first, _ in first })
    }

    /// Most documents, feeds and distinct rule sets one bundle holds.
    public static let maximumDocuments = 4096
    public static let maximumFeeds = 65536
    public static let maximumRuleSets = 64
    /// The format of the payload, inside the signed envelope.
    static let format = 1

    // MARK: Exporting

    /// Renders and signs the bundle of the published rules (`serial`, `issued`, `rules`, `rollout`)
    /// for `builds` and polls without one, each document expiring `validity` after `exportedAt`.
    public static func export(
        serial: Int64, issued: String, rules: [Mitigation], rollout: Rollout, catalog: BuildCatalog, builds: [ExchangeBuild],
        signer: FeedSigner, exportedAt: Date, validity: TimeInterval
    ) throws -> FeedBundle {
        let ids = rules.map(\.id)
        guard let ruleSets = rollout.receivableSets(ofIDs: ids, limit: maximumRuleSets) else {
            throw FeedBundleProblem.tooManyRuleSets(maximum: maximumRuleSets)
        }
        let exported = FeedTime.parse(FeedTime.format(exportedAt)) ?? exportedAt
        let expires = exported.addingTimeInterval(validity.rounded(.down))
        let renderer = FeedRenderer()
        let attributes = [("serial", String(serial)), ("issued", issued), ("expires", FeedTime.format(expires))]
        var documents: [Document] = []
        var byConfigs: [[String]: Int] = [:]
        var feeds: [Feed] = []
        let targets: [ExchangeBuild?] = [nil] + Array(Set(builds)).sorted()
        for received in ruleSets {
            let receivedRules = received.map { set in rules.filter { set.contains($0.id) } } ?? rules
            // A build whose document is the no-build one needs no entry: the site falls back to it.
            var fallback: Int?
            for build in targets {
                let configs = renderer.configs(from: receivedRules, for: build, catalog: catalog)
                let key = configs.map(\.id)
                let index: Int
                if let known = byConfigs[key] {
                    index = known
                } else {
                    index = documents.count
                    documents.append(Document(body: try signer.sign(renderer.render(configs, rootAttributes: attributes)), configIDs: key))
                    byConfigs[key] = index
                }
                if build == nil { fallback = index } else if index == fallback { continue }
                feeds.append(Feed(build: build, received: received, document: index))
            }
        }
        guard documents.count <= maximumDocuments, feeds.count <= maximumFeeds else {
            throw FeedBundleProblem.tooLarge("\(documents.count) documents for \(feeds.count) builds and rule sets; at most \(maximumDocuments) and \(maximumFeeds)")
        }
        return FeedBundle(
            serial: serial, issued: issued, exportedAt: exported, expires: expires, ruleIDs: ids, rollout: rollout,
            documents: documents, feeds: feeds
        )
    }

    /// The bundle as a file, signed by `identity` (the one that signed its documents).
    public func sealed(by identity: SigningIdentity) throws -> [UInt8] {
        try SignedEnvelope.seal(Array(JSONEncoder().encode(wire)), kind: .bundle, by: identity)
    }

    // MARK: Importing

    /// The bundle in `file`, once everything in it proved signed by `pinned` and current at `time`:
    /// the envelope's signature, then every document's (each for this serial and expiry), its
    /// rule sets and builds. Refused, naming the first fault, otherwise.
    public static func open(_ file: Data, pinned: Certificate, at time: Date = Date()) async throws(FeedBundleProblem) -> FeedBundle {
        let bundle = try read(file, pinned: pinned, at: time)
        guard bundle.expires > time else {
            throw .expired(FeedTime.format(bundle.expires))
        }
        let verifier = FeedVerifier(trust: .certificate(pinned))
        let ruleIDs = Set(bundle.ruleIDs)
        for (index, document) in bundle.documents.enumerated() {
            let feed: FeedVerifier.VerifiedFeed
            do {
                feed = try await verifier.verify(Data(document.body), at: time)
            } catch {
                throw .invalid("document \(index): \(error.description)")
            }
            guard feed.serial == String(bundle.serial), feed.issued == bundle.issued, feed.expires == FeedTime.format(bundle.expires) else {
                throw .invalid("document \(index) is for serial \(feed.serial ?? "none") expiring \(feed.expires ?? "never"), not the bundle's serial \(bundle.serial) expiring \(FeedTime.format(bundle.expires))")
            }
            guard feed.configIDs == document.configIDs else {
                throw .invalid("document \(index) carries \(feed.configIDs.joined(separator: ",")), not the configs the bundle lists for it")
            }
            if let stray = feed.configIDs.first(where: { !ruleIDs.contains($0) }) {
                throw .invalid("document \(index) carries \(stray), which is not among the bundle's rules")
            }
        }
        return bundle
    }

    /// The bundle in `file` as kept by a site that verified it with `open`: its envelope's signature
    /// is checked again (the bytes are the ones verified), its documents are not.
    public static func stored(_ file: Data, certificate: Certificate) throws(FeedBundleProblem) -> FeedBundle {
        try read(file, pinned: certificate, at: nil)
    }

    /// `stored(_:certificate:)` with the certificate as kept, DER.
    public static func stored(_ file: Data, certificateDER: Data) throws(FeedBundleProblem) -> FeedBundle {
        guard let certificate = try? Certificate(derEncoded: Array(certificateDER)) else {
            throw .invalid("the kept signing certificate does not parse")
        }
        return try stored(file, certificate: certificate)
    }

    /// The document a host on `build` receiving `received` (as `Rollout.receivedIDs(ofIDs:for:)`
    /// gives it) is served; a build the bundle lacks gets the no-build document of its rule set.
    public func document(for build: ExchangeBuild?, received: [String]?) -> Int? {
        index[FeedKey(build: build, received: received)] ?? index[FeedKey(build: nil, received: received)]
    }

    /// The envelope opened against `pinned` (its certificate judged at `time`; nil: not judged
    /// again) and the payload read and checked for consistency.
    private static func read(_ file: Data, pinned: Certificate, at time: Date?) throws(FeedBundleProblem) -> FeedBundle {
        let payload: [UInt8]
        do {
            payload = try SignedEnvelope.open(file, kind: .bundle, pinned: pinned, at: time)
        } catch {
            throw .envelope(error)
        }
        let wire: Wire
        do {
            wire = try JSONDecoder().decode(Wire.self, from: Data(payload))
        } catch {
            throw .invalid("the signed payload is not a bundle of this ocs version: \(error)")
        }
        return try wire.bundle()
    }

    // MARK: Payload

    private var wire: Wire {
        let served = Set(ruleIDs)
        return Wire(
            format: Self.format, serial: serial, issued: issued, exportedAt: FeedTime.format(exportedAt), expires: FeedTime.format(expires),
            rules: ruleIDs,
            // Only the staged releases of the rules it serves: those are all a site reads.
            releases: rollout.releases.filter { served.contains($0.key) && $0.value != .everyone }.mapValues(\.groupNames),
            groups: rollout.groups.values.sorted { $0.name < $1.name }.map { Wire.Group(name: $0.name, kind: $0.selector.kind, members: $0.selector.values) },
            documents: documents.map { Wire.Document(configs: $0.configIDs, body: Data($0.body).base64EncodedString()) },
            feeds: feeds.map { Wire.Feed(build: $0.build?.description, received: $0.received, document: $0.document) }
        )
    }

    private struct Wire: Codable {
        let format: Int
        let serial: Int64
        let issued: String
        let exportedAt: String
        let expires: String
        let rules: [String]
        let releases: [String: [String]]
        let groups: [Group]
        let documents: [Document]
        let feeds: [Feed]

        struct Document: Codable {
            let configs: [String]
            let body: String
        }

        struct Group: Codable {
            let name: String
            let kind: String
            let members: [String]
        }

        struct Feed: Codable {
            let build: String?
            let received: [String]?
            let document: Int
        }

        /// The bundle, checked whole: every reference resolves, every value is well formed.
        func bundle() throws(FeedBundleProblem) -> FeedBundle {
            guard format == FeedBundle.format else { throw .invalid("bundle format \(format) is not \(FeedBundle.format): made by another ocs version") }
            guard serial >= 0, FeedTime.parse(issued) != nil else { throw .invalid("the serial or issued time is not a feed's") }
            guard let exportedAt = FeedTime.parse(self.exportedAt), let expires = FeedTime.parse(self.expires) else {
                throw .invalid("exportedAt and expires must be times like 2026-11-24T06:00:00Z")
            }
            guard rules.allSatisfy(RuleValidator.isValidID), Set(rules).count == rules.count else {
                throw .invalid("the rule ids are not distinct mitigation ids")
            }
            guard documents.count <= FeedBundle.maximumDocuments, feeds.count <= FeedBundle.maximumFeeds, !documents.isEmpty else {
                throw .tooLarge("\(documents.count) documents and \(feeds.count) feeds; at least one and at most \(FeedBundle.maximumDocuments) and \(FeedBundle.maximumFeeds)")
            }
            let known = Set(rules)
            var releases: [String: Release] = [:]
            for (rule, names) in self.releases {
                guard known.contains(rule) else { throw .invalid("a release names \(OneLineText.escaping(rule, maximumBytes: 64)), which is not among the bundle's rules") }
                do {
                    releases[rule] = try Release.groups(named: names)
                } catch {
                    throw .invalid("the release of \(rule): \(error.description)")
                }
            }
            var hostGroups: [HostGroup] = []
            for group in groups {
                let selector: HostGroup.Selector
                switch group.kind {
                case "hosts": selector = .hosts(group.members)
                case "names": selector = .names(group.members)
                case "org" where group.members.count == 1: selector = .org(group.members[0])
                default: throw .invalid("group \(OneLineText.escaping(group.name, maximumBytes: 64)) is of kind '\(OneLineText.escaping(group.kind, maximumBytes: 16))' with \(group.members.count) members")
                }
                do {
                    hostGroups.append(try HostGroup(name: group.name, selector: selector))
                } catch {
                    throw .invalid(error.description)
                }
            }
            var decoded: [FeedBundle.Document] = []
            decoded.reserveCapacity(documents.count)
            for (index, document) in documents.enumerated() {
                guard let bytes = Data(base64Encoded: document.body) else { throw .invalid("document \(index) is not base64") }
                decoded.append(FeedBundle.Document(body: Array(bytes), configIDs: document.configs))
            }
            var entries: [FeedBundle.Feed] = []
            entries.reserveCapacity(feeds.count)
            var keys = Set<String>()
            for feed in feeds {
                let build: ExchangeBuild?
                do {
                    build = try feed.build.map(ExchangeBuild.init(parsing:))
                } catch {
                    throw .invalid("'\(OneLineText.escaping(feed.build ?? "", maximumBytes: 40))' is not a build")
                }
                guard decoded.indices.contains(feed.document) else { throw .invalid("a feed names document \(feed.document) of \(decoded.count)") }
                if let received = feed.received {
                    guard received.allSatisfy(known.contains), received.count < rules.count else {
                        throw .invalid("a feed's rule set names rules that are not the bundle's")
                    }
                }
                guard keys.insert("\(build?.description ?? "-") \(feed.received?.joined(separator: ",") ?? "*")").inserted else {
                    throw .invalid("two feeds for build \(build?.description ?? "none") and one rule set")
                }
                entries.append(FeedBundle.Feed(build: build, received: feed.received, document: feed.document))
            }
            guard entries.contains(where: { $0.build == nil && $0.received == nil }) else {
                throw .invalid("no feed for polls without a build")
            }
            return FeedBundle(
                serial: serial, issued: issued, exportedAt: exportedAt, expires: expires, ruleIDs: rules,
                rollout: Rollout(releases: releases, groups: hostGroups), documents: decoded, feeds: entries
            )
        }
    }
}

/// Why a bundle cannot be exported, or was refused at import; nothing was kept.
public enum FeedBundleProblem: Error, Sendable, Equatable, CustomStringConvertible {
    case envelope(SignedEnvelopeRefusal)
    case invalid(String)
    case tooLarge(String)
    case tooManyRuleSets(maximum: Int)
    case expired(String)

    public var description: String {
        switch self {
        case .envelope(let refusal): refusal.description
        case .invalid(let reason): reason
        case .tooLarge(let reason): "too large: \(reason)"
        case .tooManyRuleSets(let maximum):
            "the staged rules give hosts more than \(maximum) different rule sets, one document each per build: release them to fewer groups, or to everyone"
        case .expired(let expires): "it expired at \(expires): export a new one at the central instance"
        }
    }
}
