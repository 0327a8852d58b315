import OCSDomain
import OCSInventory
import OCSSigning
import OCSStorage

/// Why an operation was refused, with the data each front end words it from: which rule, group,
/// host, change or token, and what was wrong. The API gives it a status and JSON, the dashboard a
/// notice on the page, the command line a message naming its options.
public enum OperationError: Error, Sendable, Equatable {
    case rule(RuleChangeError)
    case decision(ChangeDecisionError)
    case group(HostGroupChangeError)
    case host(HostChangeError)
    case token(TokenError)
    case enrollment(EnrollmentError)
    /// Builds refused: a row's problem, or require-approval (`CatalogOperations`).
    case catalog(CatalogChangeError)
    /// An inventory report that is not a `Get-ExchangeServer` export ocs reads; nothing recorded.
    case inventory(ExchangeServerExport.Refusal)
    /// A document offered as Microsoft's that does not verify against Microsoft's roots; nothing kept.
    case upstream(FeedVerificationError)
    /// A bundle or a site's check-in file refused, or a bundle that cannot be made; nothing kept.
    case site(SiteProblem)
    /// An emergency change (applied alone under require-approval) must say why.
    case emergencyNeedsReason
    /// Only an admin may apply a change alone as an emergency.
    case emergencyNeedsAdmin(actor: String, role: Role)
    /// The database failed: no front end shows its message, only logs it.
    case storage(String)

    /// Any store failure as an operation error, with database failures folded into `storage`.
    public init(_ error: any Error) {
        switch error {
        case let error as OperationError: self = error
        case let error as RuleChangeError: self = Self.folding(error)
        case let error as ChangeDecisionError:
            if case .rule(let rule) = error { self = Self.folding(rule) } else { self = .decision(error) }
        case let error as HostGroupChangeError:
            if case .storage(let message) = error { self = .storage(message) } else { self = .group(error) }
        case let error as HostChangeError:
            if case .storage(let message) = error { self = .storage(message) } else { self = .host(error) }
        case let error as TokenError:
            if case .storage(let message) = error { self = .storage(message) } else { self = .token(error) }
        case let error as EnrollmentError:
            if case .storage(let message) = error { self = .storage(message) } else { self = .enrollment(error) }
        case let error as CatalogChangeError:
            if case .storage(let message) = error { self = .storage(message) } else { self = .catalog(error) }
        default: self = .storage("\(error)")
        }
    }

    private static func folding(_ error: RuleChangeError) -> OperationError {
        if case .storage(let message) = error { return .storage(message) }
        return .rule(error)
    }
}

extension OperationError: CustomStringConvertible {
    /// The refusal in plain words, for any front end without wording of its own.
    public var description: String {
        switch self {
        case .rule(let error): error.description
        case .decision(let error): error.description
        case .group(let error): error.description
        case .host(let error): error.description
        case .token(let error): error.description
        case .enrollment(let error): error.description
        case .catalog(let error): error.description
        case .inventory(let error): error.description
        case .upstream(let error): "not Microsoft's document: \(error.description)"
        case .site(let problem): problem.description
        case .emergencyNeedsReason: "an emergency change needs a reason: give the incident or ticket id"
        case .emergencyNeedsAdmin(let actor, let role): "\(actor) has role \(role.rawValue): only an admin may apply a change alone as an emergency"
        case .storage(let message): "the database failed: \(message)"
        }
    }
}
