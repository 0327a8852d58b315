import ArgumentParser
import OCSDomain
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
        let db = try database.open()
        let target = release.release ?? .everyone
        try approval.perform(.promote(id: id, release: target), on: db) { record in
            print("promoted \(id): released to \(record.release ?? .everyone)")
        }
    }
}
