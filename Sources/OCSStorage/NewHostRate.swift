import Foundation
import Synchronization

/// New hosts per source address, counted in memory in windows of a minute, so that checking a
/// new host costs the same however many hosts an address added (counting them in the database
/// took longer the more there were). The window starts at an address's first new host and is
/// timed by the polls' own times. Kept by the one process that records check-ins; a restart
/// starts every address afresh.
final class NewHostRate: Sendable {
    private struct Window {
        var start: Date
        var hosts: Int
    }

    private let windows = Mutex<[String: Window]>([:])
    /// Addresses kept before the windows that ended are swept out: every entry is a host added
    /// within a minute, so the map stays within --max-hosts' order however many addresses poll.
    private static let sweepAbove = 4096

    /// Counts a new host from `address` at `time` when the address added fewer than `limit` in
    /// its current minute; false (nothing counted) otherwise.
    func admit(from address: String, at time: Date, limit: Int) -> Bool {
        windows.withLock { windows in
            if windows.count > Self.sweepAbove {
                windows = windows.filter { time.timeIntervalSince($0.value.start) < 60 }
            }
            var window = windows[address] ?? Window(start: time, hosts: 0)
            if time.timeIntervalSince(window.start) >= 60 { window = Window(start: time, hosts: 0) }
            guard window.hosts < limit else { return false }
            window.hosts += 1
            windows[address] = window
            return true
        }
    }
}
