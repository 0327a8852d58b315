import Foundation
import OCSAgent
import Testing

struct MitigationChangeTests {
    @Test func appliesWhatIsNewAndNotBlockedAndRemovesWhatLeftTheFeed() {
        let change = MitigationChange(feed: ["M1", "M2", "PING1"], applied: ["M3", "PING1"], blocked: ["M2"], autoApply: true)
        #expect(change.apply == ["M1"])
        #expect(change.remove == ["M3"])
        #expect(change.applied == ["M1", "PING1"])
    }

    @Test func withAutoApplyOffNothingIsAppliedButRemovalsStillHappen() {
        let change = MitigationChange(feed: ["M1", "PING1"], applied: ["M9"], blocked: [], autoApply: false)
        #expect(change.apply.isEmpty)
        #expect(change.remove == ["M9"])
        #expect(change.applied.isEmpty)
    }

    @Test func pollURLCarriesTheDocumentedParametersEscaped() throws {
        let identity = AgentIdentity(build: "15.2.1118.7", name: "EX-01", serverID: "6f1d2c3b-0a4e-4b5c-9d8e-7f6a5b4c3d2e", blocked: ["M2"], autoApply: false)
        let url = try identity.pollURL(server: URL(string: "http://127.0.0.1:8080")!, applied: ["M1", "PING1"])
        #expect(url.absoluteString == "http://127.0.0.1:8080/getexchangemitigations?build=15.2.1118.7&server=EX-01&serverId=6f1d2c3b-0a4e-4b5c-9d8e-7f6a5b4c3d2e&applied=M1,PING1&blocked=M2&mitigationsEnabled=false&dataCollectionEnabled=true")
        #expect(throws: AgentError.self) { try identity.pollURL(server: URL(string: "ftp://x")!, applied: []) }
    }
}
