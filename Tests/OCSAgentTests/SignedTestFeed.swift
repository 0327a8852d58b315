import Foundation
import OCSDomain
import OCSSigning

/// Feeds rendered and signed as the server does, with a generated identity.
struct SignedTestFeed {
    static let identity: SigningIdentity = try! SigningIdentity.generate(commonName: "agent test signer")

    /// A day from now, as the server signs by default.
    static var tomorrow: String { FeedTime.format(Date().addingTimeInterval(86400)) }

    static func document(_ configs: [Mitigation], serial: Int?, issued: String?, expires: String? = tomorrow, identity: SigningIdentity = identity) throws -> Data {
        var attributes: [(String, String)] = []
        if let expires { attributes.append(("expires", expires)) }
        if let issued { attributes.append(("issued", issued)) }
        if let serial { attributes.append(("serial", "\(serial)")) }
        let document = FeedRenderer().render(configs, rootAttributes: attributes)
        let signature = try FeedSigner(identity: identity).signatureElement(digestInput: Data(document.digestInput.utf8))
        return Data(document.signed(with: signature).utf8)
    }

    static func verified(_ configs: [Mitigation], serial: Int?, issued: String?, expires: String? = tomorrow) async throws -> FeedVerifier.VerifiedFeed {
        try await FeedVerifier(trust: .certificate(identity.certificate)).verify(document(configs, serial: serial, issued: issued, expires: expires))
    }

    static func content(_ configs: [Mitigation], serial: Int?, issued: String?) async throws -> FeedVerifier.VerifiedContent {
        try await FeedVerifier(trust: .certificate(identity.certificate)).verifyContent(document(configs, serial: serial, issued: issued))
    }

    static let ping = Mitigation(id: "PING1", description: "EEMS Heartbeat probe.", state: .published, actions: [.doNothing(description: nil)])
    static let m1 = Mitigation(
        id: "M1", description: "Mitigation of CVE-2022-41040", state: .published,
        actions: [.iisUrlRewrite(UrlRewrite(scope: .site, site: "Default Web Site", rule: .init(
            name: "PowerShell - inbound", input: "{UrlDecode:{REQUEST_URI}}", pattern: ".*autodiscover\\.json.*Powershell.*", action: "AbortRequest"
        )), description: nil)]
    )
}
