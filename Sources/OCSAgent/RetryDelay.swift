/// How long an agent waits before its next poll when it cannot poll at once: jittered, so a fleet
/// that failed together (a server restart, a network outage) does not come back in step.
public enum RetryDelay {
    /// `seconds`, 20 % either way.
    public static func jittered(_ seconds: Double) -> Double {
        var random = SystemRandomNumberGenerator()
        return jittered(seconds, using: &random)
    }

    public static func jittered(_ seconds: Double, using random: inout some RandomNumberGenerator) -> Double {
        seconds * Double.random(in: 0.8...1.2, using: &random)
    }

    /// After `failures` failures in a row: 1 s, doubling with each, at most `maximum`; jittered.
    public static func after(failures: Int, maximum: Double) -> Double {
        var random = SystemRandomNumberGenerator()
        return after(failures: failures, maximum: maximum, using: &random)
    }

    public static func after(failures: Int, maximum: Double, using random: inout some RandomNumberGenerator) -> Double {
        let doubled = Double(1 << min(max(failures, 1) - 1, 30))
        return jittered(min(doubled, maximum), using: &random)
    }
}
