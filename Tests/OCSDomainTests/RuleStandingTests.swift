import Foundation
import OCSDomain
import Testing

/// A rule's standing on one host: the state coverage counts, and why in words.
struct RuleStandingTests {
    static let m1 = Mitigation(
        id: "M1", description: "d", state: .published,
        applies: Applicability(products: [.exchange2016, .exchange2019], narrowing: .fixedBy("Oct22SU")), actions: [.doNothing(description: nil)]
    )
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func host(build: String?, applied: [String] = [], blocked: [String] = [], enabled: Bool? = true, seen: TimeInterval = 0) -> HostState {
        HostState(id: 1, latest: CheckIn(
            serverID: nil, serverName: "EX19-01", build: build, orgID: nil, applied: applied, blocked: blocked,
            mitigationsEnabled: enabled, dataCollectionEnabled: nil, remoteAddress: nil, userAgent: nil, time: now.addingTimeInterval(seen)
        ), firstSeen: now, pollCount: 1)
    }

    static func standing(_ host: HostState, rollout: Rollout = .everyone) -> RuleStanding {
        RuleStanding(of: m1, rollout: rollout, on: host, staleSince: now.addingTimeInterval(-3600), catalog: .embedded)
    }

    @Test func eachStateSaysWhy() throws {
        let exposedBuild = "15.2.1118.7"  // 2019 CU12, before Oct22SU
        let cases: [(HostState, CoverageState, String)] = [
            (Self.host(build: nil), .unknown, "reported no build"),
            (Self.host(build: "15.2.1118.15"), .notApplicable, "fixed by Oct22SU"),
            (Self.host(build: exposedBuild, seen: -7200), .stale, "exposed: no poll since"),
            (Self.host(build: exposedBuild, blocked: ["M1"]), .blocked, "the host blocks it"),
            (Self.host(build: exposedBuild, applied: ["M1"]), .applied, "by a host that did not enroll"),
            (Self.host(build: exposedBuild, enabled: false), .disabled, "auto-apply is off"),
            (Self.host(build: exposedBuild), .pending, "served to the host, not reported applied yet"),
        ]
        for (host, state, why) in cases {
            let standing = Self.standing(host)
            #expect(standing.state == state && standing.reason.contains(why), "\(standing)")
        }
        var enrolled = Self.host(build: exposedBuild, applied: ["M1"])
        enrolled.verified = true
        #expect(Self.standing(enrolled).reason == "protected: the host reports it applied")
        // Outside its release: not applicable, and said so.
        let canary = try HostGroup(name: "canary", selector: .names(["CANARY*"]))
        let staged = Rollout(releases: ["M1": .to(["canary"])], groups: [canary])
        let outside = Self.standing(Self.host(build: exposedBuild), rollout: staged)
        #expect(outside.state == .notApplicable && outside.reason.contains("outside the rule's release (groups canary)"))
        #expect(CoverageState.notApplicable.label == "not applicable" && CoverageState.pending.label == "pending")
    }
}
