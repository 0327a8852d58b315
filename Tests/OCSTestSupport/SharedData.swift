import Foundation

/// The reference material in `../shared` beside the checkout: fixtures nobody here produced.
public enum SharedData {
    public static let folder = URL(fileURLWithPath: #filePath).appendingPathComponent("../../../../shared/data").standardized

    /// Microsoft's genuine OCS response of September 2021 (CRLF line ends, a time-stamp Object).
    public static var microsoftFeed: String { folder.appendingPathComponent("microsoft-feed-2021-09.xml").path }
    /// The Microsoft Root Certificate Authority 2011 its signer chains to.
    public static var microsoftRoot: String { folder.appendingPathComponent("microsoft-root-ca-2011.pem").path }
    /// The Microsoft Root Certificate Authority 2010 its time stamp's authority chains to.
    public static var microsoftTimeStampingRoot: String { folder.appendingPathComponent("microsoft-root-ca-2010.pem").path }
    /// A time the feed's signer certificate was valid: when it was signed.
    public static let microsoftFeedSigningTime = "2021-09-15T16:42:08Z"
}

/// Fixtures copied into this repository (`Tests/Fixtures`), written by others.
public enum RepositoryFixtures {
    public static let folder = URL(fileURLWithPath: #filePath).appendingPathComponent("../../Fixtures").standardized

    /// `Get-ExchangeServer | Export-Clixml` of one Exchange 2019 CU11 server (SOLO-E19A).
    public static var exchange2019Export: URL { folder.appendingPathComponent("exchange/get-exchangeserver-e19.xml") }
    /// `Get-ExchangeServer | Export-Clixml` of two Exchange 2016 CU23 servers with PING1 applied.
    public static var exchange2016Export: URL { folder.appendingPathComponent("exchange/get-exchangeserver-two-e16.xml") }
    /// Microsoft's genuine feed of September 2021, signed and time-stamped (`microsoft/README.md`).
    public static var microsoftFeed: URL { folder.appendingPathComponent("microsoft/microsoft-feed-2021-09.xml") }
    /// Microsoft Root Certificate Authority 2011 (code signing) and 2010 (time stamping).
    public static var microsoftCodeSigningRoot: URL { folder.appendingPathComponent("microsoft/microsoft-root-ca-2011.pem") }
    public static var microsoftTimeStampingRoot: URL { folder.appendingPathComponent("microsoft/microsoft-root-ca-2010.pem") }
}
