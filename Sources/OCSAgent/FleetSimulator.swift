import Foundation
import OCSDomain
import OCSSigning

/// A seeded random source (SplitMix64): the same seed gives the same fleet.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The simulated fleet: stable identities and a realistic spread of builds.
public enum SimulatedFleet {
    /// `count` hosts from `seed`: named `SIM-000042`, each with a GUID from the seed. Builds: a
    /// product (2016 20 %, 2019 60 %, SE 20 %), then most on the newest CU's newest update (60 %),
    /// some on that CU behind on updates (25 %), a few on an older CU (15 %).
    public static func hosts(count: Int, seed: UInt64, blockedRate: Double, autoApplyOffRate: Double, blockedID: String? = nil,
                             catalog: BuildCatalog = .embedded) -> [AgentIdentity] {
        var random = SeededRandom(seed: seed)
        return (0..<count).map { index in
            var bytes = [UInt8](repeating: 0, count: 16)
            for i in 0..<16 { bytes[i] = UInt8.random(in: 0...255, using: &random) }
            bytes[6] = (bytes[6] & 0x0F) | 0x40
            bytes[8] = (bytes[8] & 0x3F) | 0x80
            let hex = bytes.map { String(format: "%02x", $0) }.joined()
            let guid = [hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4), hex.dropFirst(16).prefix(4), hex.dropFirst(20)].joined(separator: "-")
            let build = build(using: &random, catalog: catalog)
            let blocked = Double.random(in: 0..<1, using: &random) < blockedRate ? [blockedID].compactMap { $0 } : []
            let autoApply = !(Double.random(in: 0..<1, using: &random) < autoApplyOffRate)
            return AgentIdentity(build: build.description, name: String(format: "SIM-%06d", index), serverID: guid, blocked: blocked, autoApply: autoApply)
        }
    }

    static func build(using random: inout SeededRandom, catalog: BuildCatalog) -> ExchangeBuild {
        let roll = Double.random(in: 0..<1, using: &random)
        let product: ExchangeProduct = roll < 0.2 ? .exchange2016 : roll < 0.8 ? .exchange2019 : .exchangeSE
        var cumulativeUpdates = catalog.cumulativeUpdates(of: product)
        if cumulativeUpdates.isEmpty { cumulativeUpdates = catalog.cumulativeUpdates(of: .exchange2019) }
        guard let newest = cumulativeUpdates.last else { return ExchangeBuild(major: 15, minor: 2, build: 1118, revision: 7) }
        let spread = Double.random(in: 0..<1, using: &random)
        let cu: BuildCatalog.Entry
        if spread < 0.85 || cumulativeUpdates.count == 1 {
            cu = newest
            if spread < 0.6 { return catalog.newestBuild(on: cu.build.branch)?.build ?? cu.build }
        } else {
            // An older CU, among the last few (the EM service exists from the September 2021 CUs).
            let older = cumulativeUpdates.dropLast().suffix(4)
            cu = older.randomElement(using: &random) ?? newest
        }
        let builds = catalog.entries.filter { $0.build.branch == cu.build.branch }.map(\.build).sorted()
        return builds.randomElement(using: &random) ?? cu.build
    }
}

/// Options of a simulation run.
public struct SimulationSettings: Sendable {
    public var hosts: [AgentIdentity]
    public var interval: Duration
    public var duration: Duration
    /// Polls in flight at once, at most (polls held by the server are not counted: each host
    /// holds one at most).
    public var maximumConcurrentPolls: Int
    public var progressEvery: Duration
    /// Seconds each poll asks the server to hold it until the host's feed changes (`Prefer:
    /// wait`), as `ocs agent run` does: hosts then poll again at once, and report what they
    /// applied right after applying it. Nil: each host polls every `interval` and reports on its
    /// next poll, as Microsoft's EM service does.
    public var wait: Int?

    public init(
        hosts: [AgentIdentity], interval: Duration, duration: Duration, maximumConcurrentPolls: Int = 256, progressEvery: Duration = .seconds(5),
        wait: Int? = nil
    ) {
        self.hosts = hosts
        self.interval = interval
        self.duration = duration
        self.maximumConcurrentPolls = maximumConcurrentPolls
        self.progressEvery = progressEvery
        self.wait = wait
    }
}

/// What a run saw, now or at its end.
public struct SimulationReport: Sendable, Codable, Equatable {
    public struct RuleCoverage: Sendable, Codable, Equatable {
        /// Hosts whose latest feed carries the rule.
        public var inScope: Int
        /// Of those, hosts that reported it applied on their latest poll.
        public var applied: Int
        public var share: Double { inScope == 0 ? 0 : Double(applied) / Double(inScope) }
    }

    public var hosts: Int
    public var elapsedSeconds: Double
    public var polls: Int
    public var errors: Int
    public var pollsPerSecond: Double
    public var latencyP50Milliseconds: Double
    public var latencyP99Milliseconds: Double
    public var distinctDocumentsVerified: Int
    public var rules: [String: RuleCoverage]
    public var errorSamples: [String]

    public var line: String {
        let coverage = rules.keys.sorted().map { id in
            let rule = rules[id]!
            return "\(id) \(String(format: "%.1f", rule.share * 100))% (\(rule.applied)/\(rule.inScope))"
        }.joined(separator: ", ")
        return String(format: "%6.1fs  polls %d (%.1f/s)  errors %d  p50 %.1f ms  p99 %.1f ms  applied: ", elapsedSeconds, polls, pollsPerSecond, errors, latencyP50Milliseconds, latencyP99Milliseconds)
            + (coverage.isEmpty ? "-" : coverage)
    }
}

/// Runs virtual EM agents in one process through `EMAgent`: each polls every interval with
/// jitter on a fresh connection (or, with `wait`, polls that the server holds until a change),
/// verifies (once per distinct document), applies the change to its in-memory state and reports
/// it on its next poll (with `wait`, at once).
public actor FleetSimulator {
    private let agent: EMAgent
    private let settings: SimulationSettings
    private var states: [AgentState]
    /// Per host: the feed's config ids last received, and what the host reported on its last poll.
    private var lastFeed: [[String]]
    private var lastReported: [[String]]
    private var polls = 0, errors = 0
    private var latencies: [Double] = []
    private var errorSamples: [String] = []
    private var verified: [Data: Task<FeedVerifier.VerifiedFeed, Error>] = [:]
    private var inFlight = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private let started = ContinuousClock.now

    public init(agent: EMAgent, settings: SimulationSettings) {
        self.agent = agent
        self.settings = settings
        states = Array(repeating: AgentState(), count: settings.hosts.count)
        lastFeed = Array(repeating: [], count: settings.hosts.count)
        lastReported = Array(repeating: [], count: settings.hosts.count)
    }

    /// Runs for the settings' duration, calling `progress` every `progressEvery`; returns the final report.
    public func run(progress: @escaping @Sendable (SimulationReport) -> Void) async -> SimulationReport {
        let end = started + settings.duration
        let hosts = settings.hosts
        let interval = settings.interval
        let progressEvery = settings.progressEvery
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [weak self] in
                while ContinuousClock.now + progressEvery <= end {
                    try? await Task.sleep(for: progressEvery)
                    guard let self else { return }
                    progress(await self.report())
                }
            }
            for index in hosts.indices {
                group.addTask { [weak self, wait = settings.wait] in
                    var random = SeededRandom(seed: UInt64(index) &* 0x9E37_79B9 &+ 17)
                    // The first poll at a random point of the first interval, as restarts spread over an hour.
                    var next = ContinuousClock.now + interval * Double.random(in: 0..<1, using: &random)
                    var failures = 0
                    while next < end {
                        try? await Task.sleep(until: next, clock: .continuous)
                        guard let self else { return }
                        let answer = await self.pollOnce(index)
                        if answer == .failed { failures += 1 } else { failures = 0 }
                        switch (wait, answer) {
                        case (nil, _): next = next + interval * Double.random(in: 0.9..<1.1, using: &random)
                        case (_, .answered), (_, .held): next = ContinuousClock.now
                        case (_, .notHeld): next = ContinuousClock.now + interval * Double.random(in: 0.9..<1.1, using: &random)
                        case (_, .failed):
                            let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
                            let delay = RetryDelay.after(failures: failures, maximum: seconds, using: &random)
                            next = ContinuousClock.now + .milliseconds(Int64(delay * 1000))
                        }
                    }
                }
            }
        }
        return report()
    }

    private func acquire() async {
        if inFlight < settings.maximumConcurrentPolls {
            inFlight += 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    private func release() {
        if waiters.isEmpty { inFlight -= 1 } else { waiters.removeFirst().resume() }
    }

    /// How a poll ended, for when the host polls next.
    enum PollAnswer: Equatable {
        /// A feed, or a `304` to a poll that did not ask to wait.
        case answered
        /// A `304` after the server held the poll: poll again at once.
        case held
        /// A `304` to a poll that asked to wait, not held (the server's cap): poll after the interval.
        case notHeld
        case failed
    }

    /// One poll. With `wait`, the next poll reports what this one applied, at once; a poll of its
    /// own reports it only when the next will not follow at once.
    private func pollOnce(_ index: Int) async -> PollAnswer {
        let wait = settings.wait
        if wait == nil { await acquire() }
        defer { if wait == nil { release() } }
        let identity = settings.hosts[index]
        // A held poll ends by the end of the run, so the run ends on time.
        let remaining = (started + settings.duration - ContinuousClock.now).components.seconds
        do {
            var asked = wait.map { min($0, Int(max(1, remaining))) }
            var reporting = false
            while true {
                let state = states[index]
                let start = ContinuousClock.now
                // A poll that may be held reports as it arrives, not when it is answered.
                if asked != nil { lastReported[index] = state.applied }
                let fetched = try await agent.fetch(as: identity, applied: state.applied, etag: wait == nil ? nil : state.etag, wait: asked)
                // A held poll's time is the server's wait, not its latency.
                if asked == nil || state.etag == nil { latencies.append(Self.milliseconds(ContinuousClock.now - start)) }
                polls += 1
                lastReported[index] = state.applied
                guard case .document(let body, let etag) = fetched else {
                    // A report's 304: the interval follows, as after any poll the server did not hold.
                    guard case .notModified(let held) = fetched, asked != nil else { return reporting ? .notHeld : .answered }
                    return held ? .held : .notHeld
                }
                let feed = try await verify(body)
                let outcome = try EMAgent.accept(feed, etag: etag, as: identity, state: state)
                states[index] = outcome.state
                lastFeed[index] = feed.configIDs
                guard wait != nil else { return .answered }
                // As `ocs agent run`: the next poll follows at once only after a newer feed the
                // server can hold a poll on, and its check-in reports what was applied; otherwise
                // a poll that does not wait reports it now.
                let newer = state.highestSerial == nil || (outcome.state.highestSerial ?? -1) > (state.highestSerial ?? -1)
                if newer && etag != nil { return .answered }
                guard outcome.change.changesSomething else { return .notHeld }
                asked = nil
                reporting = true
            }
        } catch {
            errors += 1
            if errorSamples.count < 5 { errorSamples.append("\(identity.name): \(error)") }
            return .failed
        }
    }

    private func verify(_ body: [UInt8]) async throws -> FeedVerifier.VerifiedFeed {
        let key = Data(body)
        if let task = verified[key] { return try await task.value }
        let agent = self.agent
        let task = Task { () async throws -> FeedVerifier.VerifiedFeed in try await agent.verify(body) }
        verified[key] = task
        return try await task.value
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    public func report() -> SimulationReport {
        let elapsed = Self.milliseconds(ContinuousClock.now - started) / 1000
        let sorted = latencies.sorted()
        func percentile(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
        var rules: [String: SimulationReport.RuleCoverage] = [:]
        for index in lastFeed.indices {
            let reported = Set(lastReported[index])
            for id in lastFeed[index] {
                rules[id, default: .init(inScope: 0, applied: 0)].inScope += 1
                if reported.contains(id) { rules[id]!.applied += 1 }
            }
        }
        return SimulationReport(
            hosts: settings.hosts.count, elapsedSeconds: elapsed, polls: polls, errors: errors,
            pollsPerSecond: elapsed > 0 ? Double(polls) / elapsed : 0,
            latencyP50Milliseconds: percentile(0.5), latencyP99Milliseconds: percentile(0.99),
            distinctDocumentsVerified: verified.count, rules: rules, errorSamples: errorSamples
        )
    }
}
