import Crypto
import Foundation

/// Secrets ocs hands out once (API tokens, enrollment tokens, host credentials): 256 random bits
/// in URL-safe base64 after a prefix naming what they are. Only their SHA-256 digest is stored.
enum Secret {
    static func make(prefix: String) -> String {
        var random = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &random) }
        return prefix + Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func digest(_ secret: String) -> Data {
        Data(SHA256.hash(data: Data(secret.utf8)))
    }

    /// The digest as lower-case hex, the form an index looks secrets up by. Looking up by the
    /// digest of 256 random bits tells an attacker nothing by its timing: steering a digest
    /// towards a stored one would take a preimage.
    static func hexDigest(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { byte in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]], as: UTF8.self)
        }.joined()
    }
}
