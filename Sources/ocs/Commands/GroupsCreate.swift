import ArgumentParser
import OCSDomain
import OCSStorage

/// `ocs groups create NAME --hosts ID,... | --names PATTERN,... | --org GUID`.
struct GroupsCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a host group; membership is decided on every poll from what the host sends.",
        discussion: """
            --hosts takes host ids (as `ocs hosts` lists them; each is resolved now to the host's serverId, \
            or name), serverIds and host names. --names takes name patterns, * and ? wildcards, any case \
            ('EX19-LAB*'). --org takes an organization GUID.
            """
    )

    @Argument(help: "The group's name (1 to 64 of A-Z a-z 0-9 . _ -).")
    var name: String

    @Option(help: ArgumentHelp("Hosts by id, serverId or name, comma-separated.", valueName: "hosts"))
    var hosts: String?

    @Option(help: ArgumentHelp("Host-name patterns, comma-separated.", valueName: "patterns"))
    var names: String?

    @Option(help: ArgumentHelp("An organization GUID.", valueName: "guid"))
    var org: String?

    @OptionGroup var reason: ReasonOption
    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        guard [hosts, names, org].compactMap({ $0 }).count == 1 else {
            throw ValidationError("give exactly one of --hosts, --names and --org")
        }
    }

    func run() throws {
        let split = { (text: String) in text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let selector: HostGroup.Selector = if let hosts { .hosts(split(hosts)) } else if let names { .names(split(names)) } else { .org(org ?? "") }
        do {
            let record = try HostGroupStore(database: try database.open()).create(name: name, selector: selector, context: reason.context)
            print("created group \(name): \(record.group.selector.kind) \(record.group.selector.values.joined(separator: ","))")
        } catch {
            throw CommandFailure("\(error)")
        }
    }
}
