import Foundation
import OCSDomain

/// What recording a batch of check-ins decides, once for both engines: which host a poll is,
/// whether it may add a host or a history entry, and what changes. The statements it runs come
/// from a `CheckInStatements`: SQLite's through its C API, or any engine's through `SQLTransaction`.
struct CheckInWriter {
    let limits: CheckInLimits
    let acceptance: CheckInAcceptance
    let newHosts: NewHostRate

    /// Records `checkIns` inside the write transaction `statements` runs in.
    func record(_ checkIns: [CheckIn], with statements: some CheckInStatements) throws -> CheckInBatch {
        var batch = Batch(writer: self, statements: statements)
        var outcomes: [CheckInOutcome] = []
        outcomes.reserveCapacity(checkIns.count)
        for checkIn in checkIns {
            outcomes.append(try batch.record(checkIn))
        }
        return CheckInBatch(serial: try statements.serial(), outcomes: outcomes)
    }

    /// Records an inventory report's servers inside the write transaction `statements` runs in.
    func record(inventory servers: [InventoryServer], at time: Date, with statements: PortableCheckInStatements) throws -> [InventoryOutcome] {
        var batch = Batch(writer: self, statements: statements)
        return try servers.map { server in try batch.record(inventory: server, at: time, marking: statements.markInventory) }
    }

    /// Records a site's hosts, from its file exported at `exportedAt`, inside the write transaction
    /// `statements` runs in.
    func record(site hosts: [SiteCheckIns.Host], of site: String, exportedAt: Date, with statements: PortableCheckInStatements) throws -> [InventoryOutcome] {
        var batch = Batch(writer: self, statements: statements)
        return try hosts.map { host in try batch.record(siteHost: host, of: site, exportedAt: exportedAt, with: statements) }
    }

    /// One transaction's recording: it counts the hosts once, on its first new host.
    private struct Batch<Statements: CheckInStatements> {
        let writer: CheckInWriter
        let statements: Statements
        var hostCount: Int64?

        init(writer: CheckInWriter, statements: Statements) {
            self.writer = writer
            self.statements = statements
        }

        mutating func record(_ poll: CheckIn) throws -> CheckInOutcome {
            let time = DatabaseTimestamp(poll.time).text
            switch try destination(of: poll) {
            case .refused(let refusal):
                return .refused(refusal)
            case .known(let id, let previous):
                let report = previous.updated(by: poll)
                guard report != previous else {
                    // A repeat, nearly every poll: only what moves on every poll is set, so
                    // SQLite leaves alone the indexes of the columns that did not change (it moves
                    // the entries of every index holding a column an UPDATE assigns, changed or not).
                    try statements.updateSeen(host: id, by: poll, at: time)
                    return .recorded
                }
                try statements.updateHost(id, to: report, by: poll, at: time)
                guard try historyHasRoom(host: id, at: poll.time) else { return .recordedWithoutHistory }
                try statements.insertHistory(report, by: poll, host: id, at: time)
                return .recorded
            case .new:
                if let refusal = try admitNewHost(poll) { return .refused(refusal) }
                let report = HostReport().updated(by: poll)
                let id = try statements.insertHost(report, by: poll, at: time)
                try statements.insertHistory(report, by: poll, host: id, at: time)
                return .recorded
            }
        }

        /// Records one server of an inventory report as the check-in `server.checkIn(at:)`: its
        /// inventory host is added or updated. An enrolled host is left alone (its agent's
        /// verified check-ins count); an unenrolled polling host with its serverId becomes its
        /// inventory host, since anyone could have sent those polls and a report takes a token.
        mutating func record(inventory server: InventoryServer, at time: Date, marking: (Int64) throws -> Void) throws -> InventoryOutcome {
            let report = server.checkIn(at: time)
            let stamp = DatabaseTimestamp(time).text
            if let host = try statements.host(byServerID: server.guid) {
                guard !host.enrolled else {
                    return InventoryOutcome(
                        name: server.name, serverID: server.guid, result: .skipped,
                        note: "enrolled as host \(host.id): its agent's verified check-ins count, not this report"
                    )
                }
                if let site = host.site {
                    return InventoryOutcome(
                        name: server.name, serverID: server.guid, result: .skipped,
                        note: "host \(host.id) is site \(site)'s: only that site's check-in files change it"
                    )
                }
                if !host.inventory { try marking(host.id) }
                let updated = host.report.updated(by: report)
                try statements.updateHost(host.id, to: updated, by: report, at: stamp)
                if updated != host.report, try historyHasRoom(host: host.id, at: time) {
                    try statements.insertHistory(updated, by: report, host: host.id, at: stamp)
                }
                return InventoryOutcome(
                    name: server.name, serverID: server.guid, result: .updated,
                    note: host.inventory ? nil : "host \(host.id) had only unverified polls: the report replaces what they said"
                )
            }
            if let refusal = try admitNewHost(report) {
                return InventoryOutcome(name: server.name, serverID: server.guid, result: .skipped, note: "not added: \(refusal.rawValue)")
            }
            let added = HostReport().updated(by: report)
            let id = try statements.insertHost(added, by: report, at: stamp)
            try marking(id)
            try statements.insertHistory(added, by: report, host: id, at: stamp)
            return InventoryOutcome(name: server.name, serverID: server.guid, result: .added)
        }

        /// Records one host of `site`'s file as the check-in it last made there: the site's host is
        /// added or updated, never moved back (its last sighting only grows). A host of this
        /// instance whose record nobody outside can forge (enrolled, reported by
        /// `Get-ExchangeServer`) or another site's is left alone; one with only unverified polls
        /// becomes the site's, since anyone could have sent those polls and the file is signed.
        mutating func record(siteHost host: SiteCheckIns.Host, of site: String, exportedAt: Date, with statements: PortableCheckInStatements) throws -> InventoryOutcome {
            let poll = host.latest
            let name = poll.serverName ?? poll.serverID ?? "-"
            let stamp = DatabaseTimestamp(poll.time).text
            let mark = { (id: Int64) in
                try statements.markSite(id, site: site, exportedAt: exportedAt, verified: host.verified, source: host.source)
            }
            if let serverID = poll.serverID, let known = try statements.host(byServerID: serverID) {
                let owner: String? = if known.enrolled {
                    "enrolled here as host \(known.id): its agent's verified check-ins count"
                } else if let other = known.site, other != site {
                    "host \(known.id) is site \(other)'s"
                } else if known.inventory && known.site == nil {
                    "host \(known.id) is reported by Get-ExchangeServer here"
                } else {
                    nil
                }
                if let owner {
                    return InventoryOutcome(name: name, serverID: serverID, result: .skipped, note: "\(owner): not changed by this file")
                }
                if known.site != nil, let lastSeen = try statements.lastSeen(known.id), poll.time < lastSeen {
                    return InventoryOutcome(
                        name: name, serverID: serverID, result: .skipped,
                        note: "known as of \(lastSeen.formatted(.iso8601)), later than this file saw it: not moved back"
                    )
                }
                let updated = known.report.updated(by: poll)
                try statements.updateHost(known.id, to: updated, by: poll, at: stamp)
                // Taken from unverified polls: its last sighting is the site's, not theirs.
                if known.site == nil { try statements.setLastSeen(known.id, to: poll.time) }
                try mark(known.id)
                try statements.setFirstSeen(known.id, to: host.firstSeen)
                if updated != known.report, try historyHasRoom(host: known.id, at: poll.time) {
                    try statements.insertHistory(updated, by: poll, host: known.id, at: stamp)
                }
                return InventoryOutcome(
                    name: name, serverID: serverID, result: .updated,
                    note: known.site == nil ? "host \(known.id) had only unverified polls here: the site's file replaces what they said" : nil
                )
            }
            // Bounded by the most hosts, not by a poll's per-address rate: the address is the site's.
            var admission = poll
            admission.remoteAddress = nil
            if let refusal = try admitNewHost(admission) {
                return InventoryOutcome(name: name, serverID: poll.serverID, result: .skipped, note: "not added: \(refusal.rawValue)")
            }
            let added = HostReport().updated(by: poll)
            let id = try statements.insertHost(added, by: poll, at: stamp)
            try mark(id)
            try statements.setFirstSeen(id, to: host.firstSeen)
            try statements.insertHistory(added, by: poll, host: id, at: stamp)
            return InventoryOutcome(name: name, serverID: poll.serverID, result: .added)
        }

        /// Nil when a poll may add a host: the database is below its most hosts (`host_count`,
        /// kept by triggers, read once a transaction) and the poll's address added fewer than its
        /// minute's most (`NewHostRate`). Runs only for a new host (rare once a fleet has polled).
        private mutating func admitNewHost(_ poll: CheckIn) throws -> CheckInRefusal? {
            let count = try hostCount ?? statements.hostCount()
            hostCount = count
            guard count < writer.limits.maximumHosts else { return .maximumHosts }
            if let address = poll.remoteAddress,
               !writer.newHosts.admit(from: address, at: poll.time, limit: writer.limits.newHostsPerAddressPerMinute) {
                return .newHostRate
            }
            hostCount = count + 1
            return nil
        }

        /// Whether the host added fewer than its hour's most history entries before `time`: true
        /// unless its entry that many back changed within the hour. Runs only for a change.
        private func historyHasRoom(host: Int64, at time: Date) throws -> Bool {
            guard let bound = try statements.historyEntryTime(host: host, back: writer.limits.historyEntriesPerHostPerHour - 1) else { return true }
            return bound <= time.addingTimeInterval(-3600)
        }

        enum Destination {
            case known(Int64, HostReport)
            case new
            case refused(CheckInRefusal)
        }

        /// The host a poll belongs to:
        /// - with a credential, the host holding it, if the poll names no other serverId;
        /// - without one, nothing while only enrolled hosts are recorded; otherwise
        ///   - with a `serverId`, the host with that serverId unless it enrolled, else a new one (a
        ///     name-only host of the same name is left as it is: a poll cannot prove it is that server);
        ///   - with only a name, the name-only host of that name (case-insensitively), else a new
        ///     one, unless a host with a serverId reported the name: that host is not changed.
        private func destination(of poll: CheckIn) throws -> Destination {
            if let credential = poll.credentialDigest {
                guard let host = try statements.host(byCredential: credential),
                      poll.serverID == nil || poll.serverID == host.report.serverID
                else { return .refused(.invalidCredential) }
                return .known(host.id, host.report)
            }
            guard writer.acceptance == .any else { return .refused(.unauthenticated) }
            guard let serverID = poll.serverID else {
                guard let nameKey = poll.serverName?.lowercased() else { return .new }
                if let host = try statements.nameOnlyHost(nameKey: nameKey) {
                    return .known(host.id, host.report)
                }
                if try statements.host(byNameKey: nameKey) != nil {
                    return .refused(.nameOfIdentifiedHost)
                }
                return .new
            }
            if let host = try statements.host(byServerID: serverID) {
                if host.enrolled { return .refused(.enrolledHost) }
                if host.site != nil { return .refused(.siteHost) }
                return host.inventory ? .refused(.inventoryHost) : .known(host.id, host.report)
            }
            return .new
        }
    }
}

/// What a host reports, as stored: two reports are compared column by column to tell a change
/// from a repeat (the id lists as their stored JSON text, without decoding).
struct HostReport: Equatable {
    var serverID: String?
    var serverName: String?
    var build: String?
    var orgID: String?
    var applied = "[]"
    var blocked = "[]"
    var mitigationsEnabled: Bool?
    var dataCollectionEnabled: Bool?

    /// This report as a poll updates it: facts the poll leaves out keep their value, the id
    /// lists are the poll's, and a name that differs only in case keeps the stored spelling.
    func updated(by poll: CheckIn) -> HostReport {
        var report = self
        report.serverID = poll.serverID ?? serverID
        if let name = poll.serverName, !(serverName.map(name.equalsIgnoringASCIICase) ?? false) { report.serverName = name }
        report.build = poll.build ?? build
        report.orgID = poll.orgID ?? orgID
        report.applied = CheckInStore.json(poll.applied)
        report.blocked = CheckInStore.json(poll.blocked)
        report.mitigationsEnabled = poll.mitigationsEnabled ?? mitigationsEnabled
        report.dataCollectionEnabled = poll.dataCollectionEnabled ?? dataCollectionEnabled
        return report
    }
}

/// A host as the writer finds it: its id, its report, whether it enrolled, whether inventory
/// reports (not polls) make its record, and the site whose files make it.
struct KnownHost {
    let id: Int64
    let report: HostReport
    let enrolled: Bool
    let inventory: Bool
    let site: String?
}
