import ArgumentParser
import Foundation
import OCSAgent

/// `ocs agent run`: the agent as a service, polling with waits until stopped.
struct AgentRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Keep polling as an EM-compatible agent: wait for each change, apply it, report it at once.",
        discussion: """
            Each poll holds the feed accepted before and asks the server to answer when it changes, for up to \
            --wait seconds (Prefer: wait); the next poll follows at once. A change is verified and applied as by \
            ocs agent poll; the next poll, sent at once, reports it (the server records a check-in as it \
            arrives), so coverage shows it within seconds. When the \
            server does not hold a poll (its cap is reached, or it does not hold polls), the agent polls again \
            after --interval. After a failure it retries after 1 s, doubling to --interval at most, each with \
            ±20 % jitter so a fleet does not retry in step. One line per change or failure; SIGINT or SIGTERM \
            stops it (the state file is always whole). Behind a proxy, --wait must stay below the proxy's \
            read timeout (see docs/agent.md).
            """
    )

    @OptionGroup var connection: AgentConnectionOptions
    @OptionGroup var trust: FeedTrustOptions
    @OptionGroup var host: AgentHostOptions

    @Option(help: "Seconds each poll may be held until the feed changes (1 to 3600; the server cuts it to its --max-wait).")
    var wait: Int = 240

    @Option(help: "Seconds between polls the server did not hold, and the longest retry delay (1 to 86400).")
    var interval: Int = 300

    @Option(name: .customLong("max-polls"), help: "Stop after this many polls (0: run until stopped).")
    var maxPolls: Int = 0

    func validate() throws {
        guard (1...3600).contains(wait) else { throw ValidationError("--wait must be 1 to 3600 seconds") }
        guard (1...86_400).contains(interval) else { throw ValidationError("--interval must be 1 to 86400 seconds") }
        guard maxPolls >= 0 else { throw ValidationError("--max-polls must be 0 or more") }
    }

    func run() async throws {
        let agent = try host.agent(connection, trust, failure: "agent failed")
        let file = AgentStateFile(folder: host.state)
        let identity = host.identity
        var state: AgentState
        do {
            state = try host.loadState()
        } catch {
            throw CommandFailure("agent failed: \(error.description)")
        }
        var failures = 0
        var polls = 0
        while maxPolls == 0 || polls < maxPolls {
            polls += 1
            let delay: Double
            do {
                switch try await agent.poll(as: identity, state: state, wait: wait) {
                case .unchanged(held: true):
                    delay = 0
                case .unchanged(held: false):
                    delay = RetryDelay.jittered(Double(interval))
                case .changed(var outcome):
                    let before = state
                    try file.save(outcome.state)
                    // Kept at once: a failure of the report must not leave an older feed acceptable.
                    state = outcome.state
                    Self.print(outcome)
                    // Next at once only after a newer feed the server can hold a poll on; a feed
                    // served without an entity tag (a proxy that strips it), or with one that never
                    // matches (one that rewrites it), would otherwise be fetched in a loop.
                    let newer = (state.highestSerial ?? -1) > (before.highestSerial ?? -1) || before.highestSerial == nil
                    let last = maxPolls != 0 && polls >= maxPolls
                    if newer && state.etag != nil && !last {
                        // The next poll follows at once and its check-in, recorded as it arrives,
                        // reports what was applied: no poll of its own.
                        delay = 0
                    } else {
                        // Reported now by a poll that does not wait; a feed that changed again
                        // meanwhile is applied and reported in turn.
                        while outcome.change.changesSomething, let again = try await agent.report(as: identity, state: outcome.state) {
                            outcome = again
                            try file.save(outcome.state)
                            state = outcome.state
                            Self.print(outcome)
                        }
                        delay = last ? 0 : RetryDelay.jittered(Double(interval))
                    }
                }
                failures = 0
            } catch {
                failures += 1
                delay = RetryDelay.after(failures: failures, maximum: Double(interval))
                FileHandle.standardError.write(Data("poll failed: \(error.description); retrying in \(String(format: "%.1f", delay)) s\n".utf8))
            }
            if delay > 0, maxPolls == 0 || polls < maxPolls {
                try await Task.sleep(for: .milliseconds(Int64(delay * 1000)))
            }
        }
    }

    private static func print(_ outcome: PollOutcome) {
        let line = "changed: serial \(outcome.feed.serial ?? "-"), applied \(list(outcome.change.apply)), removed \(list(outcome.change.remove)), now applied \(list(outcome.change.applied))"
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    private static func list(_ ids: [String]) -> String { ids.isEmpty ? "none" : ids.joined(separator: ",") }
}
