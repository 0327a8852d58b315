import Foundation
import OCSDomain
import OCSTestSupport
import Testing
@testable import OCSStorage

/// Disconnected sites on either engine: bundles kept in order and append-only; a site's hosts
/// recorded from its files, pinned per site, never changed by a poll here.
struct SiteStoreTests {
    static func verified(serial: Int64, exportedAt seconds: TimeInterval, fingerprint: String = "AA") -> BundleStore.Verified {
        BundleStore.Verified(
            serial: serial, exportedAt: Date(timeIntervalSince1970: seconds), expires: Date(timeIntervalSince1970: seconds + 86400 * 8),
            certificate: Data([0x30, 0x00]), fingerprint: fingerprint
        )
    }

    @Test func bundlesAreKeptInOrderAndMoveTheSerial() throws {
        let temporary = try TestDatabase()
        let store = BundleStore(database: temporary.database)
        let rules = RuleStore(database: temporary.database)
        #expect(try store.current() == nil)
        let serialBefore = try rules.serial()
        let first = try store.keep(Data("bundle one".utf8), verified: Self.verified(serial: 7, exportedAt: 1_800_000_000), context: .localUser)
        #expect(first.isNew && first.bundle.serial == 7 && first.bundle.body == Data("bundle one".utf8))
        #expect(try rules.serial() == serialBefore + 1)
        #expect(try store.currentWithSerial()?.serial == serialBefore + 1)
        // The same bytes again: nothing new, the serial stays.
        let again = try store.keep(Data("bundle one".utf8), verified: Self.verified(serial: 7, exportedAt: 1_800_000_000), context: .localUser)
        #expect(try !again.isNew && again.bundle.id == first.bundle.id && rules.serial() == serialBefore + 1)
        // Older: a lower serial, or the same serial exported no later. Nothing kept.
        #expect(throws: BundleKeepError.lowerSerial(serial: 6, current: 7)) {
            try store.keep(Data("older".utf8), verified: Self.verified(serial: 6, exportedAt: 1_800_009_000), context: .localUser)
        }
        #expect(throws: BundleKeepError.notNewer(exportedAt: Date(timeIntervalSince1970: 1_800_000_000), current: Date(timeIntervalSince1970: 1_800_000_000))) {
            try store.keep(Data("replayed".utf8), verified: Self.verified(serial: 7, exportedAt: 1_800_000_000), context: .localUser)
        }
        #expect(try store.current()?.id == first.bundle.id && rules.serial() == serialBefore + 1)
        // The same serial exported later (its feeds re-signed with a later expiry) is newer.
        let later = try store.keep(Data("bundle two".utf8), verified: Self.verified(serial: 7, exportedAt: 1_800_086_400), context: .localUser)
        #expect(try later.isNew && store.current()?.id == later.bundle.id && rules.serial() == serialBefore + 2)
        // Append-only.
        #expect(throws: (any Error).self) { try temporary.database.write { try $0.execute("UPDATE bundles SET serial = 99") } }
        #expect(throws: (any Error).self) { try temporary.database.write { try $0.execute("DELETE FROM bundles") } }
        let audited = try AuditLog(database: temporary.database).entries(AuditLog.Filter()).items.filter { $0.action == BundleStore.importAction }
        #expect(audited.count == 2)
    }

    static let siteGUID = "6f1d2c3b-0a4e-4b5c-9d8e-7f6a5b4c3d2e"
    static let signer = CheckInStore.SiteSigner(certificate: Data([1, 2, 3]), fingerprint: "11:22", pin: .first)

    static func siteHost(_ guid: String = siteGUID, name: String = "EXSITE1", applied: [String] = ["M1"], verified: Bool = true, seen seconds: TimeInterval) -> SiteCheckIns.Host {
        SiteCheckIns.Host(
            latest: CheckIn(
                serverID: guid, serverName: name, build: "15.2.1118.7", orgID: nil, applied: applied, blocked: [], mitigationsEnabled: true,
                dataCollectionEnabled: nil, remoteAddress: "10.1.2.3", userAgent: "ocs-agent", time: Date(timeIntervalSince1970: seconds)
            ),
            firstSeen: Date(timeIntervalSince1970: seconds - 3600), verified: verified, source: .poll
        )
    }

    static func host(_ store: CheckInStore, _ guid: String) throws -> HostState? {
        try store.host(HostReference(guid)!)
    }

    static func file(exportedAt seconds: TimeInterval, _ hosts: [SiteCheckIns.Host]) -> SiteCheckIns {
        SiteCheckIns(exportedAt: Date(timeIntervalSince1970: seconds), since: nil, hosts: hosts)
    }

    @Test func aSitesHostsAreRecordedMarkedAndNeverMovedBack() throws {
        let temporary = try TestDatabase()
        let store = CheckInStore(database: temporary.database)
        // Unknown site without a certificate to pin: refused.
        #expect(throws: SiteImportError.unknownSite("lab")) {
            try store.record(site: "lab", checkIns: Self.file(exportedAt: 1_800_000_100, [Self.siteHost(seen: 1_800_000_000)]),
                             signer: CheckInStore.SiteSigner(certificate: Data([1]), fingerprint: "11:22", pin: .none), context: .localUser)
        }
        let outcomes = try store.record(site: "lab", checkIns: Self.file(exportedAt: 1_800_000_100, [Self.siteHost(seen: 1_800_000_000)]), signer: Self.signer, context: .localUser)
        #expect(outcomes.map(\.result) == [.added])
        let host = try #require(try Self.host(store, Self.siteGUID))
        #expect(host.site == HostSite(name: "lab", exportedAt: Date(timeIntervalSince1970: 1_800_000_100)))
        #expect(host.verified && host.latest.applied == ["M1"] && host.lastSeen == Date(timeIntervalSince1970: 1_800_000_000))
        #expect(host.firstSeen == Date(timeIntervalSince1970: 1_800_000_000 - 3600))
        #expect(try store.site(named: "lab")?.lastExportedAt == Date(timeIntervalSince1970: 1_800_000_100))

        // A poll here for the site's host changes nothing.
        let batch = try store.record([CheckIn(
            serverID: Self.siteGUID, serverName: "EXSITE1", build: "15.2.1118.7", orgID: nil, applied: [], blocked: [], mitigationsEnabled: true,
            dataCollectionEnabled: nil, remoteAddress: "203.0.113.9", userAgent: "forger", time: Date(timeIntervalSince1970: 1_800_000_500)
        )])
        #expect(batch.outcomes == [.refused(.siteHost)])
        #expect(try Self.host(store, Self.siteGUID)?.latest.applied == ["M1"])

        // A file exported no later than the last: refused whole, nothing changes.
        #expect(throws: SiteImportError.self) {
            try store.record(site: "lab", checkIns: Self.file(exportedAt: 1_800_000_100, [Self.siteHost(applied: [], seen: 1_800_000_050)]), signer: Self.signer, context: .localUser)
        }
        // Signed by another certificate without moving the pin: refused.
        #expect(throws: SiteImportError.self) {
            try store.record(site: "lab", checkIns: Self.file(exportedAt: 1_800_000_900, [Self.siteHost(applied: [], seen: 1_800_000_800)]),
                             signer: CheckInStore.SiteSigner(certificate: Data([9]), fingerprint: "99:99", pin: .none), context: .localUser)
        }
        #expect(try Self.host(store, Self.siteGUID)?.latest.applied == ["M1"])

        // A later file updates it and keeps history.
        _ = try store.record(site: "lab", checkIns: Self.file(exportedAt: 1_800_001_000, [Self.siteHost(applied: ["M1", "M2"], seen: 1_800_000_900)]), signer: Self.signer, context: .localUser)
        let updated = try #require(try Self.host(store, Self.siteGUID))
        #expect(updated.latest.applied == ["M1", "M2"] && updated.lastSeen == Date(timeIntervalSince1970: 1_800_000_900))
        #expect(updated.site?.exportedAt == Date(timeIntervalSince1970: 1_800_001_000))
        #expect(try store.history(hostID: updated.id).items.count == 2)
        // A later file that saw the host earlier than what is known never moves it back.
        let older = try store.record(site: "lab", checkIns: Self.file(exportedAt: 1_800_002_000, [Self.siteHost(applied: [], seen: 1_799_999_000)]), signer: Self.signer, context: .localUser)
        #expect(older.map(\.result) == [.skipped])
        #expect(try Self.host(store, Self.siteGUID)?.latest.applied == ["M1", "M2"])
        let audited = try AuditLog(database: temporary.database).entries(AuditLog.Filter()).items.filter { $0.action == CheckInStore.siteImportAction }
        #expect(audited.count == 3)
    }

    @Test func hostsOwnedElsewhereAreLeftAloneAndUnverifiedPollsAreReplaced() throws {
        let temporary = try TestDatabase()
        let store = CheckInStore(database: temporary.database)
        let enrolledGUID = "00000000-0000-4000-8000-000000000001", polledGUID = "00000000-0000-4000-8000-000000000002"
        let enrollment = EnrollmentStore(database: temporary.database)
        let tokens = try enrollment.createTokens(count: 1, validFor: 3600, context: .localUser)
        _ = try enrollment.enroll(token: tokens.secrets[0], serverID: enrolledGUID, serverName: "EXHQ1", remoteAddress: nil)
        // An unverified poll claims a serverId first: anyone could have sent it.
        _ = try store.record([CheckIn(
            serverID: polledGUID, serverName: "EXSITE2", build: "15.2.1118.7", orgID: nil, applied: ["M1", "M2"], blocked: [], mitigationsEnabled: true,
            dataCollectionEnabled: nil, remoteAddress: "203.0.113.9", userAgent: "forger", time: Date(timeIntervalSince1970: 1_800_000_000)
        )])
        _ = try store.record(site: "other", checkIns: Self.file(exportedAt: 1_800_000_100, [Self.siteHost(seen: 1_800_000_000)]), signer: Self.signer, context: .localUser)
        let outcomes = try store.record(site: "lab", checkIns: Self.file(exportedAt: 1_800_000_200, [
            Self.siteHost(enrolledGUID, name: "EXHQ1", seen: 1_800_000_150),
            Self.siteHost(polledGUID, name: "EXSITE2", applied: [], verified: false, seen: 1_800_000_150),
            Self.siteHost(Self.siteGUID, seen: 1_800_000_150),
        ]), signer: Self.signer, context: .localUser)
        #expect(outcomes.map(\.result) == [.skipped, .updated, .skipped])
        let taken = try #require(try Self.host(store, polledGUID))
        #expect(taken.site?.name == "lab" && taken.latest.applied == [] && !taken.verified)
        #expect(try Self.host(store, Self.siteGUID)?.site?.name == "other")
        #expect(try Self.host(store, enrolledGUID)?.site == nil)
        // A Get-ExchangeServer report does not change a site's host either.
        let report = InventoryReport(servers: [InventoryServer(
            guid: Self.siteGUID, name: "EXSITE1", fqdn: nil, build: try ExchangeBuild(parsing: "15.2.1118.7"), roles: "Mailbox",
            mitigationsEnabled: true, dataCollectionEnabled: nil, applied: [], blocked: [], appliedAt: nil
        )], skipped: [])
        #expect(try store.record(inventory: report, context: .localUser).map(\.result) == [.skipped])
    }

    @Test func aSitesNewHostsCountAgainstTheMostHostsNotThePerAddressRate() throws {
        let temporary = try TestDatabase()
        let store = CheckInStore(database: temporary.database, limits: CheckInStoreTests.limits(hosts: 3, perAddress: 1))
        // Every host of the file shares the site's address: a poll's per-address rate would stop the second.
        let hosts = (1...4).map { Self.siteHost(CheckInStoreTests.guid($0), name: "EXSITE\($0)", seen: 1_800_000_000) }
        let outcomes = try store.record(site: "lab", checkIns: Self.file(exportedAt: 1_800_000_100, hosts), signer: Self.signer, context: .localUser)
        #expect(outcomes.map(\.result) == [.added, .added, .added, .skipped])
        #expect(outcomes.last?.note == "not added: max-hosts")
    }

    @Test func aSiteExportsItsOwnHostsWithAServerIDSeenSince() throws {
        let temporary = try TestDatabase()
        let store = CheckInStore(database: temporary.database)
        func poll(_ guid: String?, _ name: String, at seconds: TimeInterval) -> CheckIn {
            CheckIn(serverID: guid, serverName: name, build: "15.2.1118.7", orgID: nil, applied: ["M1"], blocked: [], mitigationsEnabled: true,
                    dataCollectionEnabled: nil, remoteAddress: "10.0.0.1", userAgent: "ocs-agent", time: Date(timeIntervalSince1970: seconds))
        }
        _ = try store.record([
            poll("00000000-0000-4000-8000-00000000000a", "OLD", at: 1_800_000_000),
            poll("00000000-0000-4000-8000-00000000000b", "NEW", at: 1_800_100_000),
            poll(nil, "NAMEONLY", at: 1_800_100_000),
        ])
        _ = try store.record(site: "lab", checkIns: Self.file(exportedAt: 1_800_100_100, [Self.siteHost(seen: 1_800_100_050)]), signer: Self.signer, context: .localUser)
        #expect(try store.siteExport(since: nil, limit: 10).map(\.latest.serverName) == ["OLD", "NEW"])
        #expect(try store.siteExport(since: Date(timeIntervalSince1970: 1_800_050_000), limit: 10).map(\.latest.serverName) == ["NEW"])
        #expect(throws: SiteImportError.tooManyHosts(1)) { try store.siteExport(since: nil, limit: 1) }
    }
}
