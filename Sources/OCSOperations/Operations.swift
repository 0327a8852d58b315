import OCSDomain
import OCSStorage

/// The composition root of the application: every store and operation on one database, built
/// once and handed to the server, the dashboard and the command line. Takes either engine's
/// `SQLDatabase`: an `OCSDatabase` (SQLite, in memory for unit tests) or a `PostgresDatabase`.
public struct Operations: Sendable {
    public let database: any SQLDatabase
    public let rules: RuleStore
    public let changes: ChangeStore
    public let checkIns: CheckInStore
    public let fleet: FleetStore
    public let audit: AuditLog
    public let tokens: TokenStore
    public let enrollment: EnrollmentStore
    public let groups: HostGroupStore
    public let catalogs: CatalogStore
    public let sessions: DashboardSessionStore
    public let state: ServerState
    /// The rule lifecycle and two-person approval.
    public let lifecycle: RuleOperations
    /// Builds added to the catalog, under the same approval policy.
    public let builds: CatalogOperations
    /// `Get-ExchangeServer` reports of servers running Microsoft's EM service.
    public let inventory: InventoryOperations
    /// What Microsoft's OCS ships, kept once verified.
    public let upstream: UpstreamOperations
    public let upstreamDocuments: UpstreamStore
    /// Disconnected sites: bundles of signed feeds out and in, sites' check-ins in and out.
    public let sites: SiteOperations
    public let bundles: BundleStore

    /// `checkInLimits` and `checkInAcceptance` decide what polls may add (the server's settings;
    /// elsewhere nothing records check-ins).
    public init(database: any SQLDatabase, checkInLimits: CheckInLimits = .standard, checkInAcceptance: CheckInAcceptance = .any) {
        self.database = database
        rules = RuleStore(database: database)
        changes = ChangeStore(database: database)
        checkIns = CheckInStore(database: database, limits: checkInLimits, acceptance: checkInAcceptance)
        enrollment = EnrollmentStore(database: database)
        fleet = FleetStore(database: database)
        audit = AuditLog(database: database)
        tokens = TokenStore(database: database)
        groups = HostGroupStore(database: database)
        catalogs = CatalogStore(database: database)
        sessions = DashboardSessionStore(database: database)
        state = ServerState(database: database)
        lifecycle = RuleOperations(rules: rules, changes: changes)
        builds = CatalogOperations(catalogs: catalogs)
        inventory = InventoryOperations(checkIns: checkIns, audit: audit)
        upstreamDocuments = UpstreamStore(database: database)
        upstream = UpstreamOperations(upstream: upstreamDocuments, rules: rules)
        bundles = BundleStore(database: database)
        sites = SiteOperations(rules: rules, catalogs: catalogs, checkIns: checkIns, bundles: bundles)
    }
}
