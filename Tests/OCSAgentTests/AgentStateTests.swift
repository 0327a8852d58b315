import Foundation
import OCSAgent
import OCSSigning
import OCSTestSupport
import Testing

struct AgentStateTests {
    @Test func aMissingOrCorruptStateFileStartsAfreshWithALogLine() throws {
        let scratch = try ScratchFolder()
        let file = AgentStateFile(folder: scratch.path("host"))
        var lines: [String] = []
        #expect(file.load { lines.append($0) } == AgentState())
        #expect(lines.count == 1 && lines[0].contains("no state file"))

        try FileManager.default.createDirectory(atPath: scratch.path("host"), withIntermediateDirectories: true)
        for corrupt in ["{not json", #"{"applied": 3}"#, #"{"applied": ["M1'; Remove-Item"]}"#, ""] {
            try Data(corrupt.utf8).write(to: URL(fileURLWithPath: file.path))
            lines = []
            #expect(file.load { lines.append($0) } == AgentState(), "\(corrupt)")
            #expect(lines.count == 1 && lines[0].contains("starting afresh"), "\(lines)")
        }
    }

    @Test func savedStateReadsBackAndLeavesNoTemporaryFile() throws {
        let scratch = try ScratchFolder()
        let file = AgentStateFile(folder: scratch.path("host"))
        let state = AgentState(highestSerial: 7, issued: "2026-11-23T06:00:51Z", applied: ["M1", "PING1"])
        try file.save(state)
        try file.save(state)
        var lines: [String] = []
        #expect(file.load { lines.append($0) } == state)
        #expect(lines.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path("host")) == [AgentStateFile.name])
    }

    @Test func aLowerSerialIsRefusedAsRollback() async throws {
        let identity = AgentIdentity(build: "15.1.2507.6", name: "EX-01")
        let accepted = AgentState(highestSerial: 5, issued: "2026-11-23T06:00:00Z", applied: ["PING1"])

        let older = try await SignedTestFeed.verified([SignedTestFeed.ping], serial: 4, issued: "2026-11-23T07:00:00Z")
        #expect(throws: AgentError.self) { try EMAgent.accept(older, as: identity, state: accepted) }
        do {
            _ = try EMAgent.accept(older, as: identity, state: accepted)
        } catch {
            #expect(error.description.hasPrefix("rollback: the feed's serial 4 is lower than serial 5"))
        }
        // The same serial under another issued time is another feed signed under that serial.
        let reissued = try await SignedTestFeed.verified([SignedTestFeed.ping], serial: 5, issued: "2026-11-23T06:00:01Z")
        #expect(throws: AgentError.rollback("the feed's serial 5 says issued 2026-11-23T06:00:01Z, but serial 5 accepted before was issued 2026-11-23T06:00:00Z")) {
            try EMAgent.accept(reissued, as: identity, state: accepted)
        }
        let unnumbered = try await SignedTestFeed.verified([SignedTestFeed.ping], serial: nil, issued: "2026-11-23T07:00:00Z")
        #expect(throws: AgentError.self) { try EMAgent.accept(unnumbered, as: identity, state: accepted) }

        // The same feed again, and a newer one, are accepted; the newer one moves the state on.
        let same = try await SignedTestFeed.verified([SignedTestFeed.ping], serial: 5, issued: "2026-11-23T06:00:00Z")
        #expect(try EMAgent.accept(same, as: identity, state: accepted).change.apply.isEmpty)
        let newer = try await SignedTestFeed.verified([SignedTestFeed.m1, SignedTestFeed.ping], serial: 6, issued: "2026-11-23T08:00:00Z")
        let outcome = try EMAgent.accept(newer, as: identity, state: accepted)
        #expect(outcome.change.apply == ["M1"])
        #expect(outcome.state == AgentState(highestSerial: 6, issued: "2026-11-23T08:00:00Z", applied: ["M1", "PING1"]))
    }

    /// The issue-19 incident: the server's clock ran two days fast while serial 5 was issued, then
    /// was fixed. The serial is the order, so serial 6 issued "now" (before serial 5's time) is
    /// newer; a lower serial is still a rollback, whatever its issued time.
    @Test func theSerialOrdersFeedsWhenTheServerClockWasFast() async throws {
        let identity = AgentIdentity(build: "15.1.2507.6", name: "EX-01")
        let fast = FeedTime.format(Date().addingTimeInterval(2 * 86400))
        let now = FeedTime.format(Date())
        let fromTheFastClock = try await SignedTestFeed.verified([SignedTestFeed.ping], serial: 5, issued: fast)
        let accepted = try EMAgent.accept(fromTheFastClock, as: identity, state: AgentState()).state
        #expect(accepted == AgentState(highestSerial: 5, issued: fast, applied: ["PING1"]))

        let afterTheFix = try await SignedTestFeed.verified([SignedTestFeed.m1, SignedTestFeed.ping], serial: 6, issued: now)
        let outcome = try EMAgent.accept(afterTheFix, as: identity, state: accepted)
        #expect(outcome.change.apply == ["M1"])
        #expect(outcome.state == AgentState(highestSerial: 6, issued: now, applied: ["M1", "PING1"]))

        let older = try await SignedTestFeed.verified([SignedTestFeed.ping], serial: 4, issued: FeedTime.format(Date().addingTimeInterval(3 * 86400)))
        #expect(throws: AgentError.rollback("the feed's serial 4 is lower than serial 6 accepted before")) {
            try EMAgent.accept(older, as: identity, state: outcome.state)
        }
        #expect(throws: AgentError.rollback("the feed's serial 4 is lower than serial 5 accepted before")) {
            try EMAgent.accept(older, as: identity, state: accepted)
        }
    }

    /// Before any serial was accepted (feeds without one), the issued time is the order.
    @Test func withoutSerialsAnEarlierIssuedTimeIsRefused() async throws {
        let identity = AgentIdentity(build: "15.1.2507.6", name: "EX-01")
        let accepted = AgentState(highestSerial: nil, issued: "2026-11-23T06:00:00Z", applied: ["PING1"])
        let earlier = try await SignedTestFeed.verified([SignedTestFeed.ping], serial: nil, issued: "2026-11-23T05:59:59Z")
        #expect(throws: AgentError.rollback("the feed was issued 2026-11-23T05:59:59Z, before 2026-11-23T06:00:00Z accepted before")) {
            try EMAgent.accept(earlier, as: identity, state: accepted)
        }
        let later = try await SignedTestFeed.verified([SignedTestFeed.ping], serial: nil, issued: "2026-11-23T06:00:01Z")
        #expect(try EMAgent.accept(later, as: identity, state: accepted).state.issued == "2026-11-23T06:00:01Z")
    }
}
