import OCSDomain
import Testing

struct HostGroupTests {
    @Test func namePatternsMatchCaseInsensitively() {
        #expect(NamePattern.matches("EX19-LAB*", "ex19-lab01"))
        #expect(NamePattern.matches("EX??-LAB*", "EX16-LAB"))
        #expect(NamePattern.matches("*", "anything"))
        #expect(NamePattern.matches("*-01", "EX19-LAB-01"))
        #expect(!NamePattern.matches("EX19-LAB*", "EX19-PROD01"))
        #expect(!NamePattern.matches("EX19", "EX19-LAB"))
        #expect(!NamePattern.matches("a*a*a*a*a*b", String(repeating: "a", count: 200)))
        #expect(!NamePattern.isValid("EX19;*") && NamePattern.isValid("EX1?-*"))
    }

    @Test func groupsPickHostsByIdentity() throws {
        let guid = "6f1d2c3b-0a4e-4b5c-9d8e-7f6a5b4c3d2e"
        let hosts = try HostGroup(name: "few", selector: .hosts(["{6F1D2C3B-0A4E-4B5C-9D8E-7F6A5B4C3D2E}", "EX16-01"]))
        #expect(hosts.selector == .hosts([guid, "EX16-01"]))
        #expect(hosts.contains(PollingHost(serverID: guid)))
        #expect(hosts.contains(PollingHost(name: "ex16-01")))
        #expect(!hosts.contains(PollingHost(name: "ex16-02")))
        let org = try HostGroup(name: "org", selector: .org(guid.uppercased()))
        #expect(org.contains(PollingHost(name: "A", orgID: guid)))
        #expect(!org.contains(PollingHost(orgID: guid)), "a poll naming no host is in no group")
        #expect(throws: HostGroupError.self) { try HostGroup(name: "bad name", selector: .names(["*"])) }
        #expect(throws: HostGroupError.self) { try HostGroup(name: "empty", selector: .hosts([])) }
    }

    @Test func aRolloutServesStagedRulesOnlyToTheirGroups() throws {
        let rule = { (id: String) in Mitigation(id: id, description: id, actions: [.doNothing(description: nil)]) }
        let rules = [rule("A"), rule("B"), rule("C")]
        let canary = try HostGroup(name: "canary", selector: .names(["LAB*"]))
        let rollout = Rollout(releases: ["B": .to(["canary"]), "C": .to(["gone"])], groups: [canary])
        #expect(rollout.rules(rules, for: PollingHost(name: "lab1")).map(\.id) == ["A", "B"])
        #expect(rollout.rules(rules, for: .anonymous).map(\.id) == ["A"])
        #expect(rollout.receivedIDs(of: rules, for: .anonymous) == ["A"])
        #expect(Rollout.everyone.receivedIDs(of: rules, for: .anonymous) == nil)
        #expect(Release.to(["b", "a", "b"]).widened(by: .to(["c"])) == .groups(["a", "b", "c"]))
        #expect(Release.to(["a"]).widened(by: .everyone) == .everyone)
    }
}
