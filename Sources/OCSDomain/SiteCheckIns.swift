import Foundation

/// The hosts a disconnected site's instance recorded, as it exports them (`ocs hosts export`)
/// for the central instance to import (`ocs hosts import --ocs`), so that the central fleet and
/// coverage include them. Each host as the site last saw it: what it reported and when.
public struct SiteCheckIns: Sendable, Equatable {
    public let exportedAt: Date
    /// The export holds the hosts seen since then; nil: every host.
    public let since: Date?
    public let hosts: [Host]

    public struct Host: Sendable, Equatable {
        /// What it reported last, `time` being when the site last heard from it.
        public let latest: CheckIn
        public let firstSeen: Date
        /// Whether the site had its record from its credential's polls or an inventory report.
        public let verified: Bool
        public let source: HostSource

        public init(latest: CheckIn, firstSeen: Date, verified: Bool, source: HostSource) {
            self.latest = latest
            self.firstSeen = firstSeen
            self.verified = verified
            self.source = source
        }
    }

    /// Most hosts one file holds.
    public static let maximumHosts = 100_000
    /// How far ahead of this clock an export time may be (the two machines' clocks differ).
    public static let clockSkew: TimeInterval = 300
    static let format = 1

    public init(exportedAt: Date, since: Date?, hosts: [Host]) {
        self.exportedAt = exportedAt
        self.since = since
        self.hosts = hosts
    }

    /// The payload a site signs: JSON, times to the second.
    public func encoded() throws -> [UInt8] {
        let wire = Wire(format: Self.format, exportedAt: exportedAt, since: since, hosts: hosts.map { host in
            let latest = host.latest
            return Wire.Host(
                serverId: latest.serverID, name: latest.serverName, build: latest.build, orgId: latest.orgID,
                applied: latest.applied, blocked: latest.blocked, mitigationsEnabled: latest.mitigationsEnabled,
                dataCollectionEnabled: latest.dataCollectionEnabled, remoteAddress: latest.remoteAddress, userAgent: latest.userAgent,
                firstSeen: host.firstSeen, lastSeen: latest.time, verified: host.verified, source: host.source.rawValue
            )
        })
        return Array(try Self.encoder.encode(wire))
    }

    /// The check-ins of a signed payload, every host checked as a poll's facts are: a serverId,
    /// a build of Exchange 2016, 2019 or SE, mitigation ids, times not after the export, and the
    /// export not after `now` (give or take `clockSkew`). The first fault refuses the whole file.
    public static func decode(_ payload: [UInt8], now: Date = Date()) throws(SiteCheckInsProblem) -> SiteCheckIns {
        let wire: Wire
        do {
            wire = try decoder.decode(Wire.self, from: Data(payload))
        } catch {
            throw .invalid("not a check-in file of this ocs version: \(error)")
        }
        guard wire.format == format else { throw .invalid("format \(wire.format) is not \(format): made by another ocs version") }
        guard wire.exportedAt <= now.addingTimeInterval(clockSkew) else {
            throw .invalid("it was exported at \(wire.exportedAt.formatted(.iso8601)), later than now: check the two machines' clocks")
        }
        guard wire.hosts.count <= maximumHosts else { throw .invalid("\(wire.hosts.count) hosts; a file holds at most \(maximumHosts)") }
        var hosts: [Host] = []
        hosts.reserveCapacity(wire.hosts.count)
        var serverIDs = Set<String>()
        for (index, host) in wire.hosts.enumerated() {
            let checked = try host.checked(exportedAt: wire.exportedAt, at: index)
            guard serverIDs.insert(checked.latest.serverID ?? "").inserted else {
                throw .invalid("host \(index): serverId \(checked.latest.serverID ?? "") is given twice")
            }
            hosts.append(checked)
        }
        return SiteCheckIns(exportedAt: wire.exportedAt, since: wire.since, hosts: hosts)
    }

    /// Times as UTC with milliseconds (`2026-12-03T19:18:23.512Z`): whole seconds would put a
    /// host's last check-in after the export that holds it.
    private static let timeStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.formatted(timeStyle))
        }
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    private static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard text.utf8.count <= 40, let date = try? Date(text, strategy: timeStyle) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(OneLineText.escaping(text, maximumBytes: 40))' is not a time like 2026-12-03T19:18:23.512Z")
            }
            return date
        }
        return decoder
    }

    private struct Wire: Codable {
        let format: Int
        let exportedAt: Date
        let since: Date?
        let hosts: [Host]

        struct Host: Codable {
            let serverId: String?
            let name: String?
            let build: String?
            let orgId: String?
            let applied: [String]
            let blocked: [String]
            let mitigationsEnabled: Bool?
            let dataCollectionEnabled: Bool?
            let remoteAddress: String?
            let userAgent: String?
            let firstSeen: Date
            let lastSeen: Date
            let verified: Bool
            let source: String

            /// This host, every fact checked; the error names the host by its place in the file.
            func checked(exportedAt: Date, at index: Int) throws(SiteCheckInsProblem) -> SiteCheckIns.Host {
                func refuse(_ reason: String) -> SiteCheckInsProblem { .invalid("host \(index): \(reason)") }
                guard let serverID = serverId.flatMap(HostIdentity.normalizedGUID) else {
                    throw refuse("no serverId GUID: only hosts that report one can be told apart from this instance's own")
                }
                if let name, !HostIdentity.isValidName(name) { throw refuse("'\(OneLineText.escaping(name, maximumBytes: 80))' is not a host name") }
                if let build {
                    guard let parsed = try? ExchangeBuild(parsing: build), ExchangeProduct(build: parsed) != nil else {
                        throw refuse("'\(OneLineText.escaping(build, maximumBytes: 40))' is not an Exchange 2016, 2019 or SE build")
                    }
                }
                var orgID: String?
                if let orgId {
                    guard let guid = HostIdentity.normalizedGUID(orgId) else { throw refuse("orgId '\(OneLineText.escaping(orgId, maximumBytes: 80))' is not a GUID") }
                    orgID = guid
                }
                for list in [applied, blocked] {
                    guard list.count <= InventoryReport.maximumIDs, list.allSatisfy(RuleValidator.isValidID) else {
                        throw refuse("applied and blocked must be at most \(InventoryReport.maximumIDs) mitigation ids each")
                    }
                }
                for text in [remoteAddress, userAgent].compactMap({ $0 }) where text.utf8.count > 256 || text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                    throw refuse("its address or user agent is longer than 256 bytes or holds control characters")
                }
                guard let source = HostSource(rawValue: source) else { throw refuse("source '\(OneLineText.escaping(source, maximumBytes: 16))' is neither poll nor inventory") }
                guard firstSeen <= lastSeen, lastSeen <= exportedAt else {
                    throw refuse("first seen \(firstSeen.formatted(.iso8601)), last seen \(lastSeen.formatted(.iso8601)): not in order before the export")
                }
                return SiteCheckIns.Host(
                    latest: CheckIn(
                        serverID: serverID, serverName: name, build: build.flatMap { try? ExchangeBuild(parsing: $0) }?.description, orgID: orgID,
                        applied: applied, blocked: blocked, mitigationsEnabled: mitigationsEnabled, dataCollectionEnabled: dataCollectionEnabled,
                        remoteAddress: remoteAddress, userAgent: userAgent, time: lastSeen
                    ),
                    firstSeen: firstSeen, verified: verified, source: source
                )
            }
        }
    }
}

/// Why a site's check-in file was refused; nothing in it was recorded.
public enum SiteCheckInsProblem: Error, Sendable, Equatable, CustomStringConvertible {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let reason): reason
        }
    }
}
