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
        #expect(try file.load { lines.append($0) } == AgentState())
        #expect(lines.count == 1 && lines[0].contains("no state file"))

        try FileManager.default.createDirectory(atPath: scratch.path("host"), withIntermediateDirectories: true)
        for corrupt in ["{not json", #"{"applied": 3}"#, #"{"applied": ["M1'; Remove-Item"]}"#, ""] {
            try Data(corrupt.utf8).write(to: URL(fileURLWithPath: file.path))
            lines = []
            #expect(try file.load { lines.append($0) } == AgentState(), "\(corrupt)")
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
        #expect(try file.load { lines.append($0) } == state)
        #expect(lines.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path("host")) == [AgentStateFile.name])
    }

    /// Issue 19: symlinks pre-made where the state is written made the agent (as root) overwrite
    /// another file. The temporary file is created exclusively: a symlink there is removed, its
    /// target left alone.
    @Test func aSymlinkAtTheTemporaryPathIsNotFollowed() throws {
        let scratch = try ScratchFolder()
        let file = AgentStateFile(folder: scratch.path("host"))
        try FileManager.default.createDirectory(atPath: file.folder, withIntermediateDirectories: true)
        let victim = scratch.path("victim.conf")
        try Data("precious\n".utf8).write(to: URL(fileURLWithPath: victim))
        try FileManager.default.createSymbolicLink(atPath: file.temporaryPath, withDestinationPath: victim)

        let state = AgentState(highestSerial: 7, issued: "2026-11-23T06:00:51Z", applied: ["M1"])
        try file.save(state)
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
        #expect(try file.load { _ in } == state)
        #expect(try FileManager.default.contentsOfDirectory(atPath: file.folder) == [AgentStateFile.name])
    }

    /// A state folder its group or others can write (or another user owns) is refused before
    /// anything is read or written, naming the folder, its mode and the fix.
    @Test func aStateFolderOthersCanWriteIsRefused() throws {
        let scratch = try ScratchFolder()
        let file = AgentStateFile(folder: scratch.path("host"))
        try FileManager.default.createDirectory(atPath: file.folder, withIntermediateDirectories: true)
        let state = AgentState(highestSerial: 7, issued: "2026-11-23T06:00:51Z", applied: ["M1"])
        for mode: mode_t in [0o777, 0o1777, 0o775, 0o757] {
            #expect(chmod(file.folder, mode) == 0)
            let refusal = AgentError.state("the state folder \(file.folder) (mode \(String(mode, radix: 8))) can be written by its group or others, who could make the agent overwrite another file: chmod 700 \(file.folder) (or 755)")
            #expect(throws: refusal) { try file.save(state) }
            #expect(throws: refusal) { try file.load { _ in } }
            #expect(try FileManager.default.contentsOfDirectory(atPath: file.folder).isEmpty, "nothing written")
        }
        #expect(chmod(file.folder, 0o755) == 0)
        try file.save(state)
        #expect(try file.load { _ in } == state)

        // Owned by another user: that user can write it whatever its mode. Needs root to arrange.
        if geteuid() == 0 {
            #expect(chown(file.folder, 65534, 65534) == 0)
            #expect(throws: AgentError.state("the state folder \(file.folder) is owned by user 65534, not by the agent's user 0 or root: chown it to the agent's user")) {
                try file.save(state)
            }
        }
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
