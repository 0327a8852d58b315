import Foundation
import OCSStorage
import OCSTestSupport
import Synchronization
import Testing

/// Periodic jobs run once per period however many servers share the database.
struct JobClaimTests {
    @Test func oneServerClaimsEachPeriod() throws {
        let temporary = try TestDatabase()
        let first = ServerState(database: temporary.database)
        let second = ServerState(database: try temporary.reopen())
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(try first.claim(job: "pruning", every: 3600, at: start))
        #expect(try !second.claim(job: "pruning", every: 3600, at: start + 1), "the period is taken")
        #expect(try !first.claim(job: "pruning", every: 3600, at: start + 600))
        // A timer a little early still finds the next period due; then it is taken again.
        #expect(try second.claim(job: "pruning", every: 3600, at: start + 3300))
        #expect(try !first.claim(job: "pruning", every: 3600, at: start + 3600))
        // Another job has periods of its own.
        #expect(try first.claim(job: "other", every: 3600, at: start + 3600))
    }

    /// Servers waking together: of many claims at once, exactly one succeeds.
    @Test func concurrentClaimsGrantOnePeriodOnce() throws {
        let temporary = try TestDatabase()
        let states = try (0..<4).map { _ in ServerState(database: try temporary.reopen()) }
        let now = Date()
        let outcomes = Mutex((granted: 0, failed: 0))
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            do {
                if try states[index % states.count].claim(job: "pruning", every: 3600, at: now) {
                    outcomes.withLock { $0.granted += 1 }
                }
            } catch {
                outcomes.withLock { $0.failed += 1 }
            }
        }
        #expect(outcomes.withLock { $0.granted } == 1)
        #expect(outcomes.withLock { $0.failed } == 0)
    }
}
