import ArgumentParser
import OCSDomain
import OCSOperations
import OCSStorage

/// `ocs rules promote ID (--to GROUPS | --everyone)`: widen a published rule's release.
struct RulesPromote: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promote",
        abstract: "Widen a published rule's release: to more host groups, or to every host."
    )

    @Argument(help: "The rule id.")
    var id: String

    @OptionGroup var release: ReleaseOptions
    @OptionGroup var approval: ApprovalOptions
    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        if release.release == nil { throw ValidationError("say how far: --to GROUPS or --everyone") }
    }

    func run() throws {
        let target = release.release ?? .everyone
        try approval.perform(on: try database.open(), { lifecycle, request throws(OperationError) in
            try lifecycle.promote(id, to: target, request)
        }) { record in
            print("promoted \(id): released to \(record.release ?? .everyone)")
        }
    }
}
