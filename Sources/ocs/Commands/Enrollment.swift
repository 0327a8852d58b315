import ArgumentParser
import Foundation
import OCSOperations
import OCSStorage

/// `ocs enrollment`: one-time tokens hosts enroll with.
struct Enrollment: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make one-time enrollment tokens: each lets one host enroll (ocs agent enroll) and receive its credential.",
        subcommands: [EnrollmentCreate.self]
    )
}

/// `ocs enrollment create [--count N] [--valid-for HOURS]`: prints the tokens, one a line.
struct EnrollmentCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Make one-time enrollment tokens and print them, one a line (the only time they are shown).",
        discussion: "Each token enrolls one host, once, before it expires; the server stores only its SHA-256. The batch is audited as enrollment.create."
    )

    @Option(help: "How many tokens (1 to \(EnrollmentStore.maximumBatch)).")
    var count = 1

    @Option(help: "Hours until the tokens expire (1 to \(Int(EnrollmentStore.maximumValidity / 3600))).")
    var validFor = 24

    @OptionGroup var reason: ReasonOption
    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        guard (1...EnrollmentStore.maximumBatch).contains(count) else { throw ValidationError("--count must be 1 to \(EnrollmentStore.maximumBatch)") }
        guard (1...Int(EnrollmentStore.maximumValidity / 3600)).contains(validFor) else {
            throw ValidationError("--valid-for must be 1 to \(Int(EnrollmentStore.maximumValidity / 3600)) hours")
        }
    }

    func run() throws {
        let operations = try database.operations()
        do {
            let made = try operations.enrollment.createTokens(count: count, validFor: TimeInterval(validFor) * 3600, context: reason.context)
            print(made.secrets.joined(separator: "\n"))
            FileHandle.standardError.write(Data("\(count) token\(count == 1 ? "" : "s"), expiring \(made.expiresAt.formatted(.iso8601))\n".utf8))
        } catch {
            throw CommandFailure(OperationError(error))
        }
    }
}
