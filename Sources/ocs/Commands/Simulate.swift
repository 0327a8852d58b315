import ArgumentParser
import Foundation
import OCSAgent

/// `ocs simulate`: N virtual EM agents in one process, polling a server until told to stop.
struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run simulated EM agents against an ocs server and watch the fleet converge.",
        discussion: """
            Each host has a stable identity from the seed (SIM-000042 and a GUID) and a build drawn from the catalog \
            (most on the newest CU and update, some behind on updates, a few on older CUs). It polls every interval \
            (with jitter, on a fresh connection), verifies each distinct document once, applies the change to its \
            state and reports it on its next poll. With --wait, each host polls as ocs agent run does: the server \
            holds the poll until the host's feed changes (Prefer: wait), the host applies the change and reports it \
            at once, then polls again; --interval is then the spread of the first polls and the delay after a poll \
            the server did not hold. A progress line goes to standard error; the summary to standard \
            output. The server must be on a loopback address unless --allow-remote is given.
            """
    )

    @OptionGroup var trust: FeedTrustOptions

    @Option(help: "The ocs server's base URL.")
    var server: String

    @Option(name: .customLong("tls-ca"), help: "For an https server: the CA certificate (PEM) its TLS certificate must chain to.")
    var tlsCA: String?

    @Option(help: "Simulated hosts (1 to 100000).")
    var hosts: Int

    @Option(help: "Poll interval, e.g. 60s, 500ms, 1m.")
    var interval: String = "60s"

    @Option(help: "How long to run, e.g. 10m.")
    var duration: String = "10m"

    @Option(help: "Seed for identities, builds and jitter.")
    var seed: UInt64 = 1

    @Option(name: .customLong("blocked-rate"), help: "Share of hosts that block --blocked-id (0 to 1).")
    var blockedRate: Double = 0

    @Option(name: .customLong("blocked-id"), help: "The mitigation those hosts block.")
    var blockedID: String = "M1"

    @Option(name: .customLong("auto-apply-off-rate"), help: "Share of hosts with auto-apply off (0 to 1).")
    var autoApplyOffRate: Double = 0

    @Option(name: .customLong("max-concurrent"), help: "Polls in flight at once, at most (1 to 1024).")
    var maxConcurrent: Int = 256

    @Option(help: "Seconds each poll asks the server to hold it until the feed changes (1 to 3600); without it, hosts poll every interval.")
    var wait: Int?

    @Option(help: "Seconds between progress lines.")
    var progress: Int = 5

    @Flag(name: .customLong("allow-remote"), help: "Allow a server that is not on a loopback address.")
    var allowRemote = false

    @Flag(help: "Print the summary as JSON.")
    var json = false

    static func parseDuration(_ text: String, _ option: String) throws -> Duration {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (unit, seconds) in units where text.hasSuffix(unit) {
            if let value = Double(text.dropLast(unit.count)), value > 0, value.isFinite {
                return .milliseconds(Int64((value * seconds * 1000).rounded()))
            }
        }
        throw ValidationError("--\(option) '\(text)' is not a duration like 500ms, 60s, 10m or 1h")
    }

    func validate() throws {
        guard (1...100_000).contains(hosts) else { throw ValidationError("--hosts must be 1 to 100000") }
        let interval = try Self.parseDuration(interval, "interval"), duration = try Self.parseDuration(duration, "duration")
        guard interval >= .milliseconds(100), interval <= .seconds(3600) else { throw ValidationError("--interval must be 100ms to 1h") }
        guard duration <= .seconds(86_400) else { throw ValidationError("--duration must be at most 24h") }
        guard (0...1).contains(blockedRate), (0...1).contains(autoApplyOffRate) else { throw ValidationError("rates must be 0 to 1") }
        guard (1...1024).contains(maxConcurrent) else { throw ValidationError("--max-concurrent must be 1 to 1024") }
        if let wait, !(1...3600).contains(wait) { throw ValidationError("--wait must be 1 to 3600 seconds") }
        guard (1...3600).contains(progress) else { throw ValidationError("--progress must be 1 to 3600 seconds") }
        guard MitigationChange.isValidID(blockedID) else { throw ValidationError("--blocked-id '\(blockedID)' is not a mitigation id") }
        guard let url = URL(string: server), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), let host = url.host else {
            throw ValidationError("--server '\(server)' is not an http:// or https:// URL")
        }
        if !allowRemote && !(host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]") {
            throw ValidationError("--server '\(server)' is not on a loopback address: pass --allow-remote to load another machine")
        }
    }

    func run() async throws {
        let fetcher: FeedFetcher
        do {
            let trustRoots = try tlsCA.map { path throws(AgentError) in try FeedFetcher.certificates(inPEMFile: path) }
            // No proxy: the simulator talks to the given server only. A minute per poll: with
            // thousands of hosts a poll may queue in the server's accept backlog.
            fetcher = try FeedFetcher(timeout: .seconds(60), trustRoots: trustRoots, proxy: nil)
        } catch {
            throw CommandFailure(error.description)
        }
        let agent = EMAgent(server: URL(string: server)!, fetcher: fetcher, verifier: try trust.verifier())
        let fleet = SimulatedFleet.hosts(count: hosts, seed: seed, blockedRate: blockedRate, autoApplyOffRate: autoApplyOffRate, blockedID: blockedID)
        let settings = SimulationSettings(
            hosts: fleet, interval: try Self.parseDuration(interval, "interval"), duration: try Self.parseDuration(duration, "duration"),
            maximumConcurrentPolls: maxConcurrent, progressEvery: .seconds(progress), wait: wait
        )
        let simulator = FleetSimulator(agent: agent, settings: settings)
        let report = await simulator.run { report in
            FileHandle.standardError.write(Data((report.line + "\n").utf8))
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print("summary: \(report.hosts) hosts, \(report.distinctDocumentsVerified) distinct documents verified")
            print(report.line)
            for sample in report.errorSamples { print("error: \(sample)") }
        }
    }
}
