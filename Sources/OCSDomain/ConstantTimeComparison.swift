/// Whether two secrets are equal, in a time that depends on their lengths only: every byte is
/// compared, match or not, so timing says nothing about how much of a guess was right.
public func constantTimeEqual<Left: Sequence<UInt8>, Right: Sequence<UInt8>>(_ lhs: Left, _ rhs: Right) -> Bool {
    let left = Array(lhs), right = Array(rhs)
    guard left.count == right.count else { return false }
    var difference: UInt8 = 0
    for (a, b) in zip(left, right) { difference |= a ^ b }
    return difference == 0
}
