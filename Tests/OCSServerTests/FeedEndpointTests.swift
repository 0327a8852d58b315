import Foundation
import Testing
@testable import OCSServer

struct FeedEndpointTests {
    /// The one-pass reader of plain targets gives exactly what `URLComponents` gives, which
    /// reads every target it does not take.
    @Test(arguments: [
        "/getexchangemitigations",
        "/getexchangemitigations?",
        "/getexchangemitigations?build=15.2.1544.4",
        "/getexchangemitigations?build=15.2.1544.4&serverId=6f1d2c3b-0a4e-4b5c-9d8e-7f6a5b4c3d2e&server=EX1",
        "/getexchangemitigations?a&&b=&=c&d==e&",
        "/getexchangemitigations?applied=M1,M2&blocked=&x+y=1+2",
        "/getexchangemitigations?q=a?b/c:d@e!$'()*;~",
    ])
    func plainTargetsReadAsURLComponentsReadsThem(uri: String) throws {
        let plain = try #require(FeedEndpoint.plainQueryItems(of: uri))
        let reference = try #require(URLComponents(string: uri)).queryItems ?? []
        #expect(plain.map(\.name) == reference.map(\.name))
        #expect(plain.map(\.value) == reference.map(\.value))
    }

    /// A User-Agent is kept to its first 512 characters; a short one is kept whole, and a long
    /// one of many-byte characters is cut on characters, never inside one.
    @Test func userAgentsAreKeptToTheirFirst512Characters() {
        let short = "Microsoft Exchange EM service 15.2.1544.4"
        #expect(FeedEndpoint.kept(userAgent: short) == short)
        #expect(FeedEndpoint.kept(userAgent: String(repeating: "a", count: 600)) == String(repeating: "a", count: 512))
        let wide = String(repeating: "\u{e9}", count: 300)  // 600 bytes, 300 characters: kept whole
        #expect(FeedEndpoint.kept(userAgent: wide) == wide)
        let wider = String(repeating: "\u{1F600}", count: 600)
        #expect(FeedEndpoint.kept(userAgent: wider) == String(repeating: "\u{1F600}", count: 512))
    }

    @Test(arguments: ["/getexchangemitigations?build=15%2E2", "/getexchangemitigations?a=b#f", "/getexchangemitigations?a=\u{e9}", "/x?a=b c", "/x?a=\"b\""])
    func targetsNeedingDecodingAreLeftToURLComponents(uri: String) {
        #expect(FeedEndpoint.plainQueryItems(of: uri) == nil)
    }
}
