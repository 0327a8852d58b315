import Foundation
import OCSAgent
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

    @Test func aLowerSerialOrAnEarlierIssuedTimeIsRefusedAsRollback() async throws {
        let identity = AgentIdentity(build: "15.1.2507.6", name: "EX-01")
        let accepted = AgentState(highestSerial: 5, issued: "2026-11-23T06:00:00Z", applied: ["PING1"])

        let older = try await SignedTestFeed.verified([SignedTestFeed.ping], serial: 4, issued: "2026-11-23T07:00:00Z")
        #expect(throws: AgentError.self) { try EMAgent.accept(older, as: identity, state: accepted) }
        do {
            _ = try EMAgent.accept(older, as: identity, state: accepted)
        } catch {
            #expect(error.description.hasPrefix("rollback: the feed's serial 4 is lower than serial 5"))
        }
        let backdated = try await SignedTestFeed.verified([SignedTestFeed.ping], serial: 6, issued: "2026-11-23T05:59:59Z")
        #expect(throws: AgentError.self) { try EMAgent.accept(backdated, as: identity, state: accepted) }
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
}
