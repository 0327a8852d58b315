import Foundation
import OCSDomain
import OCSSigning
import OCSStorage
import X509

/// Disconnected sites: a network that cannot reach the central instance runs an instance of its
/// own, which serves the feeds the central one signed and records its hosts' check-ins.
/// - Central to site: `exportBundle` signs every feed the site's hosts can need into one file;
///   the site's `importBundle` verifies it against the pinned certificate and keeps it, and its
///   server serves those feeds verbatim, holding no signing key.
/// - Site to central: `exportCheckIns` writes the site's hosts into a file signed by the site's
///   own key; the central `importCheckIns` verifies it against the certificate it pins for the
///   site and records the hosts, marked with the site and the export time.
/// Both files are hostile until verified: bounded, verified whole before anything is kept, and
/// kept all or nothing.
public struct SiteOperations: Sendable {
    let rules: RuleStore
    let catalogs: CatalogStore
    let checkIns: CheckInStore
    let bundles: BundleStore

    /// How long an exported bundle's feeds are valid by default: eight days, so a bundle carried
    /// in by hand once a week never lets the site's feeds expire.
    public static let defaultBundleValidity: TimeInterval = 8 * 86400
    /// The longest validity a bundle may be given: a feed valid longer would be a long replay window.
    public static let maximumBundleValidity: TimeInterval = 90 * 86400

    // MARK: Central: bundles out

    /// The bundle of the published rules, signed by `signer`, for every build the catalog and the
    /// fleet know plus `builds`, valid `validity` from `time`: the file and what it holds.
    public func exportBundle(signer: FeedSigner, builds: [ExchangeBuild] = [], validity: TimeInterval = defaultBundleValidity, at time: Date = Date()) throws(OperationError) -> (file: [UInt8], bundle: FeedBundle) {
        do {
            let set = try rules.publishedSet()
            let known = try catalogs.knownBuilds()
            let bundle = try FeedBundle.export(
                serial: set.serial, issued: set.issued, rules: set.rules, rollout: set.rollout, catalog: set.catalog,
                builds: known + builds, signer: signer, exportedAt: time, validity: validity
            )
            let file = try bundle.sealed(by: signer.identity)
            guard file.count <= SignedEnvelope.maximumBytes else { throw SiteProblem.fileTooLarge(bytes: file.count) }
            return (file, bundle)
        } catch {
            throw Self.siteError(error)
        }
    }

    // MARK: Site: bundles in

    /// A bundle kept, and what it holds.
    public struct ImportedBundle: Sendable {
        public let bundle: FeedBundle
        public let stored: BundleStore.StoredBundle
        public let isNew: Bool
    }

    /// Verifies `file` and keeps it as the bundle this instance serves. Its signer must be the
    /// pinned certificate: the one of the bundle served now, else `certificate` (the first import
    /// pins it). `certificate` other than the pinned one is refused unless `repin` moves the pin
    /// (the central instance rotated its key). Refused, keeping nothing, when anything in it does
    /// not verify, it expired, or it is older than the bundle served; a refusal is audited.
    public func importBundle(_ file: Data, certificate: Certificate?, repin: Bool, context: ChangeContext, at time: Date = Date()) async throws(OperationError) -> ImportedBundle {
        do {
            let pinned = try bundles.current().map { try Certificate(kept: $0.certificate) }
            let (trusted, moves) = try Self.pin(pinned: pinned, given: certificate, repin: repin)
            let bundle = try await FeedBundle.open(file, pinned: trusted, at: time)
            let verified = BundleStore.Verified(
                serial: bundle.serial, exportedAt: bundle.exportedAt, expires: bundle.expires,
                certificate: Data(SigningIdentity.der(trusted)), fingerprint: SigningIdentity.fingerprint(of: trusted), repins: moves && pinned != nil
            )
            let (stored, isNew) = try bundles.keep(file, verified: verified, context: context, at: time)
            return ImportedBundle(bundle: bundle, stored: stored, isNew: isNew)
        } catch {
            let failure = Self.siteError(error)
            if case .site = failure { try? bundles.auditRefusal(failure.description, context: context, at: time) }
            throw failure
        }
    }

    /// The bundle this instance serves, if it imported one, read back from what was kept.
    public func servedBundle() throws(OperationError) -> (stored: BundleStore.StoredBundle, bundle: FeedBundle)? {
        do {
            guard let stored = try bundles.current() else { return nil }
            return (stored, try FeedBundle.stored(stored.body, certificateDER: stored.certificate))
        } catch {
            throw Self.siteError(error)
        }
    }

    // MARK: Site: check-ins out

    /// The file of this instance's hosts seen since `since` (all when nil), signed by `identity`
    /// (the site's own key, which the central instance pins), and how many hosts it holds.
    public func exportCheckIns(since: Date?, identity: SigningIdentity, at time: Date = Date()) throws(OperationError) -> (file: [UInt8], hosts: Int) {
        do {
            let hosts = try checkIns.siteExport(since: since, limit: SiteCheckIns.maximumHosts)
            let payload = try SiteCheckIns(exportedAt: time, since: since, hosts: hosts).encoded()
            let file = try SignedEnvelope.seal(payload, kind: .checkIns, by: identity)
            guard file.count <= SignedEnvelope.maximumBytes else { throw SiteProblem.fileTooLarge(bytes: file.count) }
            return (file, hosts.count)
        } catch {
            throw Self.siteError(error)
        }
    }

    // MARK: Central: check-ins in

    /// Verifies `file` as site `site`'s and records its hosts (see `CheckInStore.record(site:)`).
    /// The signer must be the certificate pinned for the site; the first file pins `certificate`,
    /// and `repin` moves the pin to it. Refused whole, changing nothing, when the signature, the
    /// pin, any host or the order of exports is wrong; a refusal is audited.
    public func importCheckIns(_ file: Data, site: String, certificate: Certificate?, repin: Bool, context: ChangeContext, at time: Date = Date()) throws(OperationError) -> [InventoryOutcome] {
        do {
            guard HostSite.isValidName(site) else { throw SiteProblem.invalidSiteName(site) }
            let pinned = try checkIns.site(named: site).map { try Certificate(kept: $0.certificate) }
            guard pinned != nil || certificate != nil else { throw SiteImportError.unknownSite(site) }
            let (trusted, moves) = try Self.pin(pinned: pinned, given: certificate, repin: repin)
            let payload = try SignedEnvelope.open(file, kind: .checkIns, pinned: trusted, at: time)
            let report = try SiteCheckIns.decode(payload, now: time)
            let signer = CheckInStore.SiteSigner(
                certificate: Data(SigningIdentity.der(trusted)), fingerprint: SigningIdentity.fingerprint(of: trusted),
                pin: !moves ? .none : pinned == nil ? .first : .repin
            )
            return try checkIns.record(site: site, checkIns: report, signer: signer, context: context, at: time)
        } catch {
            let failure = Self.siteError(error)
            if case .site = failure { try? checkIns.auditSiteRefusal("site \(OneLineText.escaping(site, maximumBytes: 64)): \(failure.description)", context: context, at: time) }
            throw failure
        }
    }

    /// The certificate a file must be signed by: the one pinned, else the one given (which the
    /// file then pins); one given other than the pinned one only with `repin`. Whether it moves the pin.
    private static func pin(pinned: Certificate?, given: Certificate?, repin: Bool) throws(SiteProblem) -> (Certificate, pins: Bool) {
        switch (pinned, given) {
        case (nil, nil):
            throw .noPin
        case (nil, let given?):
            return (given, true)
        case (let pinned?, nil):
            return (pinned, false)
        case (let pinned?, let given?):
            guard given == pinned || repin else {
                throw .otherCertificate(given: SigningIdentity.fingerprint(of: given), pinned: SigningIdentity.fingerprint(of: pinned))
            }
            return (given, given != pinned)
        }
    }

    /// Any failure of these operations as an operation error: the files' and the sites' problems
    /// as `.site`, database failures as `.storage`.
    private static func siteError(_ error: any Error) -> OperationError {
        switch error {
        case let error as OperationError: error
        case let problem as SiteProblem: .site(problem)
        case let problem as FeedBundleProblem: .site(.bundle(problem))
        case let problem as BundleKeepError: .site(.bundleKeep(problem))
        case let refusal as SignedEnvelopeRefusal: .site(.envelope(refusal))
        case let problem as SiteCheckInsProblem: .site(.checkIns(problem))
        case let problem as SiteImportError: .site(.siteImport(problem))
        default: OperationError(error)
        }
    }
}

/// Why a bundle or a site's check-in file was refused, or could not be made; nothing changed.
public enum SiteProblem: Error, Sendable, Equatable, CustomStringConvertible {
    case bundle(FeedBundleProblem)
    case bundleKeep(BundleKeepError)
    case envelope(SignedEnvelopeRefusal)
    case checkIns(SiteCheckInsProblem)
    case siteImport(SiteImportError)
    /// The first bundle needs the central signing certificate to pin.
    case noPin
    case otherCertificate(given: String, pinned: String)
    case invalidSiteName(String)
    /// A certificate kept in the database does not parse.
    case storedCertificate
    /// A file this large would be refused unread where it is imported.
    case fileTooLarge(bytes: Int)

    public var description: String {
        switch self {
        case .bundle(let problem): problem.description
        case .bundleKeep(let problem): problem.description
        case .envelope(let refusal): refusal.description
        case .checkIns(let problem): problem.description
        case .siteImport(let problem): problem.description
        case .noPin: "no bundle was imported here yet: give the central instance's signing certificate (--cert) to pin"
        case .otherCertificate(let given, let pinned):
            "the certificate given (SHA-256 \(given)) is not the pinned one (SHA-256 \(pinned)): give --repin to move the pin, if the signer changed its key"
        case .invalidSiteName(let name): "'\(OneLineText.escaping(name, maximumBytes: 80))' is not a site name: use 1 to 64 of A-Z a-z 0-9 . _ -"
        case .storedCertificate: "a certificate kept in the database does not parse"
        case .fileTooLarge(let bytes):
            "the file would be \(bytes) bytes, over the \(SignedEnvelope.maximumBytes) an import reads: export fewer hosts (a later --since) or fewer builds"
        }
    }
}

extension Certificate {
    /// A certificate this instance kept (DER); one that does not parse is a damaged database.
    fileprivate init(kept der: Data) throws(SiteProblem) {
        do {
            try self.init(derEncoded: Array(der))
        } catch {
            throw .storedCertificate
        }
    }
}
