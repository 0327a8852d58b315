/// An Exchange product line the EM service runs on, named as in the catalog and in rule files.
public enum ExchangeProduct: String, CaseIterable, Codable, Sendable, Comparable {
    case exchange2016 = "Exchange2016"
    case exchange2019 = "Exchange2019"
    case exchangeSE = "ExchangeSE"

    /// First build number (third part) of `15.2` that belongs to Exchange SE rather than 2019.
    static let firstSubscriptionEditionBuild: UInt32 = 2562

    /// The product line of a build: `15.1` is 2016; `15.2` below 2562 is 2019, from 2562 SE.
    /// Nil for anything else (Exchange 2013 and older have no EM service).
    public init?(build: ExchangeBuild) {
        switch (build.major, build.minor) {
        case (15, 1): self = .exchange2016
        case (15, 2): self = build.build < Self.firstSubscriptionEditionBuild ? .exchange2019 : .exchangeSE
        default: return nil
        }
    }

    /// Human name: `Exchange 2019`.
    public var displayName: String {
        switch self {
        case .exchange2016: "Exchange 2016"
        case .exchange2019: "Exchange 2019"
        case .exchangeSE: "Exchange SE"
        }
    }

    public static func < (lhs: ExchangeProduct, rhs: ExchangeProduct) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
