import ArgumentParser
import Foundation
import OCSDomain
import OCSInventory
import OCSOperations
import OCSSigning
import OCSStorage

/// `ocs hosts`: the hosts that have checked in or been reported; `show` one with its history;
/// `forget` one; `import` a `Get-ExchangeServer` report.
struct Hosts: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, show and forget the hosts that have polled the feed or were reported by Get-ExchangeServer.",
        subcommands: [HostsList.self, HostsShow.self, HostsForget.self, HostsRevoke.self, HostsImport.self, HostsExport.self],
        defaultSubcommand: HostsList.self
    )

    /// The table columns of a host, shared by every host list.
    static let header = ["ID", "HOST", "BUILD", "CATALOG NAME", "LAST SEEN", "APPLIED", "BLOCKED"]

    static func row(_ view: HostView) -> [String] {
        [String(view.id), view.name + (view.stale ? " (stale)" : "") + (view.verified ? "" : " (unverified)") + (view.source == .inventory ? " (inventory)" : "")
            + (view.site.map { " (site \($0), as of \(view.siteExportedAt?.formatted(.iso8601) ?? "-"))" } ?? ""),
         view.build ?? "-", view.buildName ?? "-",
         view.lastSeen.formatted(.iso8601), view.applied.joined(separator: ","), view.blocked.joined(separator: ",")]
    }

    /// Prints every host of a paged list, page by page.
    static func printAll(json: Bool, staleSince: Date, catalog: BuildCatalog, read: (PageRequest) throws -> Page<HostState>) throws {
        var output = PagedOutput(json: json, header: header)
        try PageRequest.walk(read: read) { page in
            let views = page.items.map { HostView($0, staleSince: staleSince, catalog: catalog) }
            output.print(views, rows: views.map(row))
        }
        output.finish()
    }

    static func reference(_ text: String) throws -> HostReference {
        guard let reference = HostReference(text) else {
            throw ValidationError("'\(text)' is not \(HostReference.form)")
        }
        return reference
    }
}

/// `ocs hosts [list] [--stale]`: every host, in the order they first polled.
struct HostsList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the hosts that have polled the feed, oldest first.")

    @Flag(help: "Only hosts that have not polled within --stale-after.")
    var stale = false

    @OptionGroup var staleness: StalenessOptions

    @Flag(help: "Print JSON for scripts: an array of hosts.")
    var json = false

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let db = try database.open()
        let store = CheckInStore(database: db)
        let staleSince = staleness.staleSince
        try Hosts.printAll(json: json, staleSince: staleSince, catalog: try CatalogStore(database: db).catalog()) { page in
            try store.hosts(lastSeenBefore: stale ? staleSince : nil, page: page)
        }
    }
}

/// `ocs hosts show ID`: one host and its whole history, newest change first.
struct HostsShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a host and the history of what it reported.")

    @Argument(help: "The host's id, serverId or name.")
    var host: String

    @OptionGroup var staleness: StalenessOptions

    @Flag(help: "Print JSON for scripts: {host, history}.")
    var json = false

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let db = try database.open()
        let store = CheckInStore(database: db)
        guard let state = try store.host(try Hosts.reference(host)) else {
            throw CommandFailure(HostChangeError.notFound(host).description)
        }
        let view = HostView(state, staleSince: staleness.staleSince, catalog: try CatalogStore(database: db).catalog())
        if json {
            FileHandle.standardOutput.write(Data("{\n\"host\": ".utf8) + Data(APIJSON.encode(view)) + Data(", \"history\": ".utf8))
        } else {
            print(TextTable(header: Hosts.header, rows: [Hosts.row(view)]).rendered)
        }
        var history = PagedOutput(json: json, header: ["SINCE", "NAME", "BUILD", "APPLIED", "BLOCKED", "MITIGATIONS", "FROM"])
        try PageRequest.walk { page in try store.history(hostID: state.id, page: page) } handle: { page in
            let views = page.items.map(HistoryEntryView.init)
            history.print(views, rows: views.map { entry in
                [entry.time.formatted(.iso8601), entry.serverName ?? "-", entry.build ?? "-", entry.applied.joined(separator: ","),
                 entry.blocked.joined(separator: ","), entry.mitigationsEnabled.map { $0 ? "enabled" : "disabled" } ?? "-",
                 entry.remoteAddress ?? "-"]
            })
        }
        history.finish()
        if json { FileHandle.standardOutput.write(Data("}\n".utf8)) }
    }
}

/// `ocs hosts forget ID`: removes a decommissioned host and its history, audited.
struct HostsForget: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget", abstract: "Remove a decommissioned host and its history.",
        discussion: "If the host polls again it comes back as a new host."
    )

    @Argument(help: "The host's id, serverId or name.")
    var host: String

    @OptionGroup var reason: ReasonOption
    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let reference = try Hosts.reference(host)
        let store = CheckInStore(database: try database.open())
        do {
            let forgotten = try store.forget(reference, context: reason.context)
            print("forgot host \(forgotten.id) \(forgotten.displayName)")
        } catch {
            throw CommandFailure(error.description)
        }
    }
}

/// `ocs hosts revoke ID`: the host's credential stops working; it is unverified until it enrolls again.
struct HostsRevoke: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Revoke an enrolled host's credential.",
        discussion: "Its polls are answered 401 until it enrolls again with a new token (ocs enrollment create, ocs agent enroll); it shows as unverified meanwhile."
    )

    @Argument(help: "The host's id, serverId or name.")
    var host: String

    @OptionGroup var reason: ReasonOption
    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let reference = try Hosts.reference(host)
        let operations = try database.operations()
        do {
            let revoked = try operations.enrollment.revoke(reference, context: reason.context)
            print("revoked the credential of host \(revoked.id) \(revoked.displayName)")
        } catch {
            throw CommandFailure(OperationError(error))
        }
    }
}

/// `ocs hosts import --exchange FILE`: the servers a `Get-ExchangeServer | Export-Clixml` file
/// reports, as inventory hosts (servers running Microsoft's own EM service). `ocs hosts import
/// --ocs FILE --site NAME`: the hosts a disconnected site's instance exported.
struct HostsImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Record the servers a Get-ExchangeServer export or a disconnected site's check-in file reports.",
        discussion: """
            --exchange FILE is what `Get-ExchangeServer | Export-Clixml FILE` writes on an Exchange management server. Each \
            server becomes an inventory host with its build, applied and blocked mitigations and flags, counted in coverage \
            beside polling hosts. Edge servers are skipped.

            --ocs FILE is what `ocs hosts export` wrote on a disconnected site's instance, signed by the site's key: its first \
            file pins the site's certificate (--cert), later ones must be signed by it. Each host becomes the site's, marked \
            with the site and the export time; a file exported no later than the last one imported from the site is refused.

            A file that is not such an export, does not verify, or holds a bad value records nothing.
            """
    )

    @Option(help: ArgumentHelp("The Export-Clixml file of Get-ExchangeServer.", valueName: "file"))
    var exchange: String?

    @Option(help: ArgumentHelp("A disconnected site's check-in file (ocs hosts export); needs --site.", valueName: "file"))
    var ocs: String?

    @Option(help: "The site the --ocs file comes from: 1 to 64 of A-Z a-z 0-9 . _ -")
    var site: String?

    @Option(help: ArgumentHelp("The site's certificate (PEM): pinned with its first file.", valueName: "file"))
    var cert: String?

    @Flag(help: "Pin --cert in place of the site's pinned certificate: the site changed its key.")
    var repin = false

    @Flag(help: "Print JSON for scripts: each server's outcome.")
    var json = false

    @OptionGroup var reason: ReasonOption
    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        guard (exchange == nil) != (ocs == nil) else { throw ValidationError("give one file: --exchange FILE or --ocs FILE") }
        if ocs != nil, site == nil { throw ValidationError("--ocs needs --site: the name the site's hosts are marked with") }
        if ocs == nil, site != nil || cert != nil || repin { throw ValidationError("--site, --cert and --repin go with --ocs") }
        if repin && cert == nil { throw ValidationError("--repin needs --cert: the certificate to pin") }
    }

    func run() async throws {
        let operations = try database.operations()
        let outcomes: [InventoryOutcome]
        if let ocs, let site {
            let data = try InputFile.read(ocs, limit: SignedEnvelope.maximumBytes, refusing: "nothing recorded")
            let certificate = try cert.map { try PinnedCertificate.read($0) }
            do {
                outcomes = try operations.sites.importCheckIns(data, site: site, certificate: certificate, repin: repin, context: reason.context)
            } catch {
                throw CommandFailure("\(ocs): nothing recorded: \(error.description)")
            }
        } else {
            let file = exchange ?? ""
            let data = try InputFile.read(file, limit: ExchangeServerExport.maximumBytes, refusing: "nothing recorded")
            do {
                outcomes = try operations.inventory.report(data, context: reason.context)
            } catch {
                throw CommandFailure("\(file): nothing recorded: \(error.description)")
            }
        }
        if json {
            FileHandle.standardOutput.write(Data(APIJSON.encode(outcomes)) + Data("\n".utf8))
            return
        }
        print(TextTable(header: ["SERVER", "SERVER ID", "RESULT", "NOTE"], rows: outcomes.map {
            [$0.name, $0.serverID ?? "-", $0.result.rawValue, $0.note ?? ""]
        }).rendered)
    }
}

/// `ocs hosts export --out FILE`: a disconnected site's hosts, signed by the site's key, for the
/// central instance's `ocs hosts import --ocs`.
struct HostsExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write this instance's hosts to a signed file for the central instance (a disconnected site).",
        discussion: """
            Each host with a serverId seen since --since (every one without it), as it last checked in. The file is signed \
            by the site's own key (ocs keys init makes one), whose certificate the central instance pins.
            """
    )

    @Option(help: ArgumentHelp("Where to write the file.", valueName: "file"))
    var out: String

    @Option(help: ArgumentHelp("Only hosts seen since this time (2026-12-01T00:00:00Z).", valueName: "time"))
    var since: String?

    @Option(help: ArgumentHelp("The site's RSA private key (PEM).", valueName: "file"))
    var signingKey: String

    @Option(help: ArgumentHelp("The site's certificate (PEM), which the central instance pins.", valueName: "file"))
    var signingCert: String

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        var from: Date?
        if let since {
            guard let parsed = try? Date(since, strategy: .iso8601) else {
                throw CommandFailure("--since: '\(since)' is not a time like 2026-12-01T00:00:00Z")
            }
            from = parsed
        }
        let identity: SigningIdentity
        do {
            identity = try SigningIdentity.load(keyFile: signingKey, certificateFile: signingCert)
        } catch {
            throw CommandFailure("cannot sign the file: \(error.description)")
        }
        let exported: (file: [UInt8], hosts: Int)
        do {
            exported = try database.operations().sites.exportCheckIns(since: from, identity: identity)
        } catch let error as OperationError {
            throw CommandFailure("nothing written: \(error.description)")
        }
        do {
            try Data(exported.file).write(to: URL(fileURLWithPath: out), options: .atomic)
        } catch {
            throw CommandFailure("\(out): cannot write: \(error.localizedDescription)")
        }
        print("wrote \(out): \(exported.hosts) hosts, signed by \(identity.fingerprint)")
    }
}
