import ArgumentParser
import OCSDomain
import OCSStorage

/// `ocs tokens`: bearer tokens for the admin API.
struct Tokens: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list and revoke API tokens.",
        subcommands: [TokensCreate.self, TokensList.self, TokensRevoke.self]
    )
}

/// `ocs tokens create --name NAME --role ROLE`: prints the secret once.
struct TokensCreate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a token; its secret is printed once and never stored.")

    @Option(help: "A name for the token, shown in the audit trail.")
    var name: String

    @Option(help: "reader, publisher or admin (each can do what the one before can), or reporter (only POST /api/v1/inventory).")
    var role: Role

    @OptionGroup var reason: ReasonOption
    @OptionGroup var database: DatabaseOptions

    func run() throws {
        do {
            print(try TokenStore(database: try database.open()).create(name: name, role: role, context: reason.context))
        } catch {
            throw CommandFailure("\(error)")
        }
    }
}

/// `ocs tokens list [--all]`: names, roles and dates; no secrets. Lists what `GET /api/v1/tokens` does.
struct TokensList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List live tokens (never their secrets).")

    @Flag(help: "Also list revoked tokens (as GET /api/v1/tokens?all=true does).")
    var all = false

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let rows = try TokenStore(database: try database.open()).list(includingRevoked: all).map { token in
            [token.name, token.role.rawValue, token.createdAt.formatted(.iso8601), token.revokedAt.map { "revoked \($0.formatted(.iso8601))" } ?? "live"]
        }
        print(TextTable(header: ["NAME", "ROLE", "CREATED", "STATUS"], rows: rows).rendered, terminator: "")
    }
}

/// `ocs tokens revoke NAME`: the token stops working on its next request.
struct TokensRevoke: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a token.")

    @Argument(help: "The token's name.")
    var name: String

    @OptionGroup var reason: ReasonOption
    @OptionGroup var database: DatabaseOptions

    func run() throws {
        do {
            try TokenStore(database: try database.open()).revoke(name: name, context: reason.context)
        } catch {
            throw CommandFailure("\(error)")
        }
        print("revoked \(name)")
    }
}

extension Role: ExpressibleByArgument {}
