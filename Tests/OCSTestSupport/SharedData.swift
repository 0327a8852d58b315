import Foundation

/// The reference material in `../shared` beside the checkout: fixtures nobody here produced.
public enum SharedData {
    public static let folder = URL(fileURLWithPath: #filePath).appendingPathComponent("../../../../shared/data").standardized

    /// Microsoft's genuine OCS response of September 2021 (CRLF line ends, a time-stamp Object).
    public static var microsoftFeed: String { folder.appendingPathComponent("microsoft-feed-2021-09.xml").path }
    /// The Microsoft Root Certificate Authority 2011 its signer chains to.
    public static var microsoftRoot: String { folder.appendingPathComponent("microsoft-root-ca-2011.pem").path }
    /// A time the feed's signer certificate was valid: when it was signed.
    public static let microsoftFeedSigningTime = "2021-09-15T16:42:08Z"
}
