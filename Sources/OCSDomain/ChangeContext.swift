import Foundation

/// Who is changing something, and from where: carried into every audit entry.
public struct ChangeContext: Sendable, Equatable {
    /// A token name for the API; `local:` and the OS user for the command line.
    public let actor: String
    public let remoteAddress: String?
    /// Why: an incident or ticket id the caller gave, kept with every audit entry of the change.
    public let reason: String?

    public init(actor: String, remoteAddress: String? = nil, reason: String? = nil) {
        self.actor = actor
        self.remoteAddress = remoteAddress
        self.reason = reason
    }

    /// This context with `reason`.
    public func with(reason: String?) -> ChangeContext {
        ChangeContext(actor: actor, remoteAddress: remoteAddress, reason: reason)
    }

    /// Longest reason, in UTF-8 bytes.
    public static let maximumReasonBytes = 256

    /// Checks a reason as given (before anything is changed or audited): at most 256 bytes of
    /// printable text on one line. Nil when it is fine; else what is wrong.
    public static func problem(withReason reason: String) -> String? {
        if reason.isEmpty { return "reason is empty: give an incident or ticket id, or leave it out" }
        if reason.utf8.count > maximumReasonBytes { return "reason is \(reason.utf8.count) bytes: at most \(maximumReasonBytes)" }
        if OneLineText.escaping(reason, maximumBytes: .max) != reason {
            return "reason holds a control or format character: give one line of printable text"
        }
        return nil
    }
}
