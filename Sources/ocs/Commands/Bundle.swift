import ArgumentParser
import Foundation
import Logging
import OCSDomain
import OCSOperations
import OCSSigning
import OCSStorage
import X509

/// `ocs bundle`: the signed feeds a disconnected site serves, carried from the central instance.
struct BundleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle", abstract: "Export the signed feeds for a disconnected site, and import them there.",
        discussion: """
            On the central instance, `ocs bundle export` signs every feed the site's hosts can need into one file. On the \
            site's instance, `ocs bundle import` verifies it against the central signing certificate it pins and keeps it; \
            `ocs serve` there serves those feeds byte for byte and needs no signing key. See docs/sites.md.
            """,
        subcommands: [BundleExport.self, BundleImport.self, BundleShow.self]
    )
}

/// `ocs bundle export --out FILE`: every feed of the published rules, signed, in one file.
struct BundleExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write every signed feed the published rules give, for a disconnected site.",
        discussion: """
            One feed for polls without a build and one for each build the catalog lists or a host reported (and --build), \
            for every set of rules staged releases give a host; each distinct document is signed once. The file is signed \
            too, by the same key, and written whole or not at all.
            """
    )

    @Option(help: ArgumentHelp("Where to write the bundle.", valueName: "file"))
    var out: String

    @Option(help: "Days its feeds are valid, 1 to 90: import a new bundle at the site before they expire. [default: 8]")
    var validDays = Int(SiteOperations.defaultBundleValidity / 86400)

    @Option(help: ArgumentHelp("A build to sign feeds for besides those the catalog and the fleet know; repeat for more.", valueName: "build"))
    var build: [String] = []

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var signing: SigningOptions

    func validate() throws {
        guard TimeInterval(validDays) * 86400 <= SiteOperations.maximumBundleValidity, validDays >= 1 else {
            throw ValidationError("--valid-days must be between 1 and \(Int(SiteOperations.maximumBundleValidity / 86400))")
        }
    }

    func run() async throws {
        var builds: [ExchangeBuild] = []
        for text in build {
            guard let parsed = try? ExchangeBuild(parsing: text), ExchangeProduct(build: parsed) != nil else {
                throw CommandFailure("--build: '\(text)' is not an Exchange 2016, 2019 or SE build like 15.2.1118.7")
            }
            builds.append(parsed)
        }
        var settings = try database.settings()
        let db = try DatabaseOptions.open(database.resolvedLocation(&settings), password: database.password(&settings), creating: false)
        let logger = Logger(label: "ocs") { StreamLogHandler.standardError(label: $0) }
        let signer = try FeedSigner(identity: await signing.resolve(&settings).identity(for: db, recording: false, logger: logger))
        let exported: (file: [UInt8], bundle: FeedBundle)
        do {
            exported = try Operations(database: db).sites.exportBundle(signer: signer, builds: builds, validity: TimeInterval(validDays) * 86400)
        } catch {
            throw CommandFailure("nothing written: \(error.description)")
        }
        do {
            try Data(exported.file).write(to: URL(fileURLWithPath: out), options: .atomic)
        } catch {
            throw CommandFailure("\(out): cannot write: \(error.localizedDescription)")
        }
        let bundle = exported.bundle
        print("""
            wrote \(out): serial \(bundle.serial), \(bundle.documents.count) documents for \(bundle.feeds.count) builds and rule sets, \
            expires \(FeedTime.format(bundle.expires)), signed by \(signer.identity.fingerprint)
            """)
    }
}

/// `ocs bundle import FILE`: a bundle carried in, verified and kept; the server serves it.
struct BundleImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Verify a bundle from the central instance and serve its feeds here.",
        discussion: """
            The first bundle needs the central signing certificate (--cert), which is pinned: every later bundle must be \
            signed by it. A bundle with a lower serial than the one served, or the same serial exported no later, or past \
            its validity, is refused; so is one whose signature or any of whose documents does not verify. Nothing is kept \
            then. Running servers on the database serve a kept bundle within a second.
            """
    )

    @Argument(help: "The bundle, as ocs bundle export wrote it.")
    var file: String

    @Option(help: ArgumentHelp("The central instance's signing certificate (PEM), pinned by the first bundle.", valueName: "file"))
    var cert: String?

    @Flag(help: "Pin --cert in place of the pinned certificate: the central instance rotated its signing key.")
    var repin = false

    @OptionGroup var reason: ReasonOption
    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        if repin && cert == nil { throw ValidationError("--repin needs --cert: the certificate to pin") }
    }

    func run() async throws {
        let data = try InputFile.read(file, limit: SignedEnvelope.maximumBytes, refusing: "nothing kept")
        let certificate = try cert.map { try PinnedCertificate.read($0) }
        var settings = try database.settings()
        let db = try DatabaseOptions.open(database.resolvedLocation(&settings), password: database.password(&settings), creating: true)
        let imported: SiteOperations.ImportedBundle
        do {
            imported = try await Operations(database: db).sites.importBundle(data, certificate: certificate, repin: repin, context: reason.context)
        } catch {
            throw CommandFailure("\(file): nothing kept: \(error.description)")
        }
        let bundle = imported.bundle
        print("""
            \(imported.isNew ? "serving" : "already served"): bundle of serial \(bundle.serial), exported \(FeedTime.format(bundle.exportedAt)), \
            \(bundle.documents.count) documents, expires \(FeedTime.format(bundle.expires)), signed by \(imported.stored.fingerprint)
            """)
    }
}

/// `ocs bundle show`: the bundle served, if any.
struct BundleShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show the bundle this instance serves.")

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let served: (stored: BundleStore.StoredBundle, bundle: FeedBundle)?
        do {
            served = try database.operations().sites.servedBundle()
        } catch let error as OperationError {
            throw CommandFailure(error.description)
        }
        guard let (stored, bundle) = served else {
            print("no bundle imported: this instance signs its own feed")
            return
        }
        let expired = bundle.expires <= Date() ? " (expired: import a newer bundle)" : ""
        print("""
            serial:      \(bundle.serial)
            exported:    \(FeedTime.format(bundle.exportedAt))
            expires:     \(FeedTime.format(bundle.expires))\(expired)
            imported:    \(FeedTime.format(stored.importedAt))
            documents:   \(bundle.documents.count), for \(bundle.feeds.count) builds and rule sets
            rules:       \(bundle.ruleIDs.isEmpty ? "none" : bundle.ruleIDs.joined(separator: ", "))
            signed by:   \(stored.fingerprint)
            """)
    }
}

/// A certificate given on the command line to pin (`--cert`): the first in its PEM file.
enum PinnedCertificate {
    static func read(_ file: String) throws -> Certificate {
        do {
            guard let first = try SigningIdentity.certificates(in: file).first else {
                throw CommandFailure("\(file): holds no certificate")
            }
            return first
        } catch let error as SigningIdentityError {
            throw CommandFailure(error.description)
        }
    }
}
