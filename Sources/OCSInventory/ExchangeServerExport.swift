import Foundation
import OCSDomain
import OCSXML

/// Reads `Get-ExchangeServer | Export-Clixml FILE`: PowerShell's CliXml (UTF-8, usually with a
/// byte-order mark), one `Obj` per server, each property an element named by its `N` attribute.
///
/// The file is hostile input. `StrictXMLParser` reads it (no DTD, no entity, bounded size and
/// depth), and every value kept is checked before anything is recorded: a problem anywhere refuses
/// the whole file, naming the object and the property, so a refused file records nothing.
///
/// Only what the EM service records is read: `Name`, `Fqdn`, `Guid`, `AdminDisplayVersion`,
/// `ServerRole`, `IsEdgeServer`, `MitigationsEnabled`, `MitigationsApplied`, `MitigationsBlocked`,
/// `MitigationsAppliedTime`, `DataCollectionEnabled`, from `<Props>` (the cmdlet's objects) or
/// `<MS>` (the same properties after `Select-Object`, as `Report-ExchangeInventory.ps1` sends them).
public enum ExchangeServerExport {
    /// The largest export read: about 150 servers as `Export-Clixml` writes them whole (110 KB
    /// each), many thousands as `Report-ExchangeInventory.ps1` sends them (its `Select-Object`).
    public static let maximumBytes = 16 << 20
    /// The most servers one export may report.
    public static let maximumServers = 20_000

    public static let namespace = "http://schemas.microsoft.com/powershell/2004/04"
    static let serverType = "Microsoft.Exchange.Data.Directory.Management.ExchangeServer"

    /// Why an export is refused: where (the object, by its position and name when known, and the
    /// property) and what was wrong.
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        /// The 1-based position of the object among the export's objects, when the problem is in one.
        public let object: Int?
        public let objectName: String?
        public let property: String?
        public let reason: String

        public var description: String {
            var place: [String] = []
            if let object { place.append("object \(object)" + (objectName.map { " (\(OneLineText.escaping(String($0.prefix(64)))))" } ?? "")) }
            if let property { place.append("property \(property)") }
            return OneLineText.escaping((place.isEmpty ? "" : place.joined(separator: ", ") + ": ") + reason)
        }
    }

    /// The servers `data` reports; Edge servers (no EM service) are listed as skipped.
    public static func read(_ data: Data) throws(Refusal) -> InventoryReport {
        var limits = StrictXMLParser.Limits()
        limits.maximumBytes = maximumBytes
        limits.documentName = "a CliXml export"
        let text = try utf8(data)
        let root: XMLTreeElement
        do {
            root = try StrictXMLParser.parse(text, limits: limits)
        } catch {
            throw Refusal(object: nil, objectName: nil, property: nil, reason: "not a CliXml export: \(error.description)")
        }
        guard root.localName == "Objs", root.namespaceURI == namespace else {
            throw Refusal(
                object: nil, objectName: nil, property: nil,
                reason: "the root element is <\(root.qualifiedName)>, not <Objs> in \(namespace): not the output of Export-Clixml"
            )
        }
        let objects = root.elements
        guard objects.count <= maximumServers else {
            throw Refusal(object: nil, objectName: nil, property: nil, reason: "\(objects.count) objects, over the limit of \(maximumServers)")
        }
        var reader = Reader()
        var servers: [InventoryServer] = []
        var skipped: [InventoryReport.Skipped] = []
        var seen: [String: Int] = [:]
        for (index, object) in objects.enumerated() {
            let position = index + 1
            guard object.localName == "Obj", object.namespaceURI == namespace else {
                throw Refusal(object: position, objectName: nil, property: nil, reason: "<\(object.qualifiedName)> is not an object (<Obj>)")
            }
            let read = try reader.server(object, position: position)
            switch read {
            case .server(let server):
                if let earlier = seen[server.guid] {
                    throw Refusal(object: position, objectName: server.name, property: "Guid", reason: "\(server.guid) is also object \(earlier)'s")
                }
                seen[server.guid] = position
                servers.append(server)
            case .edge(let name):
                skipped.append(.init(name: name, reason: "an Edge Transport server: it runs no EM service"))
            }
        }
        guard !servers.isEmpty || !skipped.isEmpty else {
            throw Refusal(object: nil, objectName: nil, property: nil, reason: "the export holds no server")
        }
        return InventoryReport(servers: servers, skipped: skipped)
    }

    /// The export as UTF-8. Windows PowerShell 5.1's `Export-Clixml` writes UTF-16 (little-endian,
    /// with a byte-order mark) unless told `-Encoding UTF8`: such a file is transcoded first,
    /// within the same bound, and one that is not valid UTF-16 is refused.
    static func utf8(_ data: Data) throws(Refusal) -> Data {
        guard data.count <= maximumBytes else {
            throw Refusal(object: nil, objectName: nil, property: nil, reason: "the export is \(data.count) bytes, over the limit of \(maximumBytes)")
        }
        let encoding: String.Encoding
        if data.starts(with: [0xFF, 0xFE]) && !data.starts(with: [0xFF, 0xFE, 0x00, 0x00]) {
            encoding = .utf16LittleEndian
        } else if data.starts(with: [0xFE, 0xFF]) {
            encoding = .utf16BigEndian
        } else {
            return data
        }
        guard data.count % 2 == 0, let text = String(data: data.dropFirst(2), encoding: encoding) else {
            throw Refusal(object: nil, objectName: nil, property: nil, reason: "the export has a UTF-16 byte-order mark but is not valid UTF-16")
        }
        return Data(text.utf8)
    }

    private enum ReadServer {
        case server(InventoryServer)
        case edge(String)
    }

    /// Reads objects in order, remembering type names (`<TN RefId>`, referred to by `<TNRef>`)
    /// and objects (`<Obj RefId>`, referred to by `<Ref>`) as Export-Clixml writes each once.
    private struct Reader {
        var typeNames: [String: [String]] = [:]
        var objects: [String: XMLTreeElement] = [:]

        mutating func server(_ object: XMLTreeElement, position: Int) throws(Refusal) -> ReadServer {
            remember(object)
            let types = typeNames(of: object)
            // Export-Clixml from a remote session prefixes `Deserialized.`, Select-Object `Selected.`.
            let isServer = types.contains { type in
                var name = Substring(type)
                while let prefix = ["Deserialized.", "Selected."].first(where: { name.hasPrefix($0) }) { name = name.dropFirst(prefix.count) }
                return name == ExchangeServerExport.serverType
            }
            var properties: [String: XMLTreeElement] = [:]
            for section in object.elements where section.namespaceURI == namespace && (section.localName == "Props" || section.localName == "MS") {
                for property in section.elements {
                    remember(property)
                    guard let name = property.attribute("N") else { continue }
                    // Two values for one property: which the EM service holds cannot be told.
                    guard properties[name] == nil else {
                        throw Refusal(object: position, objectName: nil, property: String(name.prefix(64)), reason: "given twice")
                    }
                    properties[name] = property
                }
            }
            func fail(_ property: String?, _ reason: String, name: String? = nil) -> Refusal {
                Refusal(object: position, objectName: name, property: property, reason: reason)
            }
            guard isServer else {
                throw fail(nil, "its type is \(types.first.map { "'\(String($0.prefix(120)))'" } ?? "not given"), not \(ExchangeServerExport.serverType): export Get-ExchangeServer's output")
            }
            let name = try string("Name", properties, position: position)
            guard HostIdentity.isValidName(name) else {
                throw fail("Name", "'\(String(name.prefix(64)))' is not a host name (1 to \(HostIdentity.maximumNameLength) letters, digits, '.', '-' and '_')")
            }
            func refusal(_ property: String, _ reason: String) -> Refusal { fail(property, reason, name: name) }
            if try bool("IsEdgeServer", properties, name: name, position: position) == true {
                return .edge(name)
            }
            let guidText = try string("Guid", properties, name: name, position: position, kind: "G")
            guard let guid = HostIdentity.normalizedGUID(guidText) else { throw refusal("Guid", "'\(String(guidText.prefix(64)))' is not a GUID") }
            var fqdn: String?
            if let text = try optionalString("Fqdn", properties, name: name, position: position) {
                guard HostIdentity.isValidName(text) else { throw refusal("Fqdn", "'\(String(text.prefix(64)))' is not a host name") }
                fqdn = text
            }
            let build = try version(properties, name: name, position: position)
            let roles = try displayText("ServerRole", properties, name: name, position: position) ?? ""
            guard roles.utf8.count <= 256, roles.unicodeScalars.allSatisfy({ $0.isASCII && !$0.properties.isWhitespace || $0 == " " }) else {
                throw refusal("ServerRole", "'\(String(roles.prefix(64)))' is not a list of Exchange roles")
            }
            if roles.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == "Edge" }) {
                return .edge(name)
            }
            return .server(InventoryServer(
                guid: guid, name: name, fqdn: fqdn, build: build, roles: roles,
                mitigationsEnabled: try bool("MitigationsEnabled", properties, name: name, position: position),
                dataCollectionEnabled: try bool("DataCollectionEnabled", properties, name: name, position: position),
                applied: try ids("MitigationsApplied", properties, name: name, position: position),
                blocked: try ids("MitigationsBlocked", properties, name: name, position: position),
                appliedAt: try date("MitigationsAppliedTime", properties, name: name, position: position)
            ))
        }

        /// Records every `Obj` and `TN` carrying a `RefId` at or under `element`, so later `Ref`
        /// and `TNRef` find them. Bounded by the parser's element count.
        mutating func remember(_ element: XMLTreeElement) {
            guard element.namespaceURI == namespace else { return }
            if element.localName == "Obj", let id = element.attribute("RefId"), objects[id] == nil { objects[id] = element }
            if element.localName == "TN", let id = element.attribute("RefId"), typeNames[id] == nil {
                typeNames[id] = element.elements.filter { $0.localName == "T" }.map(\.text)
            }
            for child in element.elements { remember(child) }
        }

        func typeNames(of object: XMLTreeElement) -> [String] {
            for element in object.elements where element.namespaceURI == namespace {
                if element.localName == "TN" { return element.elements.filter { $0.localName == "T" }.map(\.text) }
                if element.localName == "TNRef", let id = element.attribute("RefId") { return typeNames[id] ?? [] }
            }
            return []
        }

        /// A property's element, a `<Ref>` replaced by the object it refers to.
        func resolved(_ element: XMLTreeElement) -> XMLTreeElement? {
            guard element.localName == "Ref" else { return element }
            return element.attribute("RefId").flatMap { objects[$0] }
        }

        func string(_ property: String, _ properties: [String: XMLTreeElement], name: String? = nil, position: Int, kind: String = "S") throws(Refusal) -> String {
            guard let text = try optionalString(property, properties, name: name, position: position, kind: kind) else {
                throw Refusal(object: position, objectName: name, property: property, reason: "missing: every server has one")
            }
            return text
        }

        func optionalString(_ property: String, _ properties: [String: XMLTreeElement], name: String?, position: Int, kind: String = "S") throws(Refusal) -> String? {
            guard let element = properties[property], element.localName != "Nil" else { return nil }
            guard element.localName == kind, element.elements.isEmpty else {
                throw Refusal(object: position, objectName: name, property: property, reason: "<\(element.localName)> where <\(kind)> was expected")
            }
            return element.text
        }

        func bool(_ property: String, _ properties: [String: XMLTreeElement], name: String, position: Int) throws(Refusal) -> Bool? {
            guard let text = try optionalString(property, properties, name: name, position: position, kind: "B") else { return nil }
            switch text {
            case "true": return true
            case "false": return false
            default: throw Refusal(object: position, objectName: name, property: property, reason: "'\(String(text.prefix(16)))' is not true or false")
            }
        }

        func date(_ property: String, _ properties: [String: XMLTreeElement], name: String, position: Int) throws(Refusal) -> Date? {
            guard let text = try optionalString(property, properties, name: name, position: position, kind: "DT") else { return nil }
            guard text.utf8.count <= 40, let date = Self.dateTime(text) else {
                throw Refusal(object: position, objectName: name, property: property, reason: "'\(String(text.prefix(40)))' is not a date and time")
            }
            return date
        }

        /// `2023-01-05T12:08:37.6177687Z` or with an offset: .NET writes up to seven fraction digits,
        /// more than ISO8601DateFormatter reads, so the fraction is cut to milliseconds first.
        static func dateTime(_ text: String) -> Date? {
            var text = Substring(text)
            if let dot = text.firstIndex(of: ".") {
                let digits = text[text.index(after: dot)...].prefix { $0.isASCII && $0.isNumber }
                guard !digits.isEmpty else { return nil }
                text = text[..<dot] + "." + digits.prefix(3) + String(repeating: "0", count: max(0, 3 - digits.count)) + text[digits.endIndex...]
            }
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            if let date = formatter.date(from: String(text)) { return date }
            formatter.formatOptions = [.withInternetDateTime]
            return formatter.date(from: String(text))
        }

        /// The `<ToString>` of an object property (an enum such as `ServerRole`), or a plain string.
        func displayText(_ property: String, _ properties: [String: XMLTreeElement], name: String, position: Int) throws(Refusal) -> String? {
            guard let found = properties[property], found.localName != "Nil" else { return nil }
            guard let element = resolved(found) else {
                throw Refusal(object: position, objectName: name, property: property, reason: "refers to an object the export does not hold")
            }
            if element.localName == "S", element.elements.isEmpty { return element.text }
            guard element.localName == "Obj", let text = element.elements.first(where: { $0.localName == "ToString" })?.text else {
                throw Refusal(object: position, objectName: name, property: property, reason: "<\(element.localName)> with no <ToString>")
            }
            return text
        }

        /// `AdminDisplayVersion`: its `Major`, `Minor`, `Build` and `Revision`, or, when those are
        /// absent, its text `Version 15.2 (Build 986.5)`.
        func version(_ properties: [String: XMLTreeElement], name: String, position: Int) throws(Refusal) -> ExchangeBuild {
            let property = "AdminDisplayVersion"
            func refusal(_ reason: String) -> Refusal { Refusal(object: position, objectName: name, property: property, reason: reason) }
            guard let found = properties[property], found.localName != "Nil" else { throw refusal("missing: without a version ocs cannot tell which rules apply") }
            guard let element = resolved(found) else { throw refusal("refers to an object the export does not hold") }
            if element.localName == "Obj", let props = element.elements.first(where: { $0.localName == "Props" }) {
                var parts: [String: UInt32] = [:]
                for part in props.elements where part.localName == "I32" {
                    if let key = part.attribute("N"), let value = UInt32(part.text) { parts[key] = value }
                }
                if let major = parts["Major"], let minor = parts["Minor"], let build = parts["Build"], let revision = parts["Revision"] {
                    return try checked(ExchangeBuild(major: major, minor: minor, build: build, revision: revision), refusal)
                }
            }
            let text = element.localName == "S" ? element.text : element.elements.first(where: { $0.localName == "ToString" })?.text ?? ""
            // "Version 15.2 (Build 986.5)"
            let pieces = text.split(whereSeparator: { $0 == " " || $0 == "(" || $0 == ")" })
            guard pieces.count == 4, pieces[0] == "Version", pieces[2] == "Build",
                  let build = try? ExchangeBuild(parsing: "\(pieces[1]).\(pieces[3])")
            else { throw refusal("'\(String(text.prefix(64)))' is not an Exchange version (Version 15.2 (Build 986.5))") }
            return try checked(build, refusal)
        }

        func checked(_ build: ExchangeBuild, _ refusal: (String) -> Refusal) throws(Refusal) -> ExchangeBuild {
            guard ExchangeProduct(build: build) != nil else {
                throw refusal("\(build) is not a build of Exchange 2016, 2019 or Subscription Edition, which run the EM service")
            }
            return build
        }

        /// A list of mitigation ids (`<Obj><LST><S>PING1</S></LST></Obj>`), `<Nil>` for none.
        func ids(_ property: String, _ properties: [String: XMLTreeElement], name: String, position: Int) throws(Refusal) -> [String] {
            func refusal(_ reason: String) -> Refusal { Refusal(object: position, objectName: name, property: property, reason: reason) }
            guard let found = properties[property], found.localName != "Nil" else { return [] }
            guard let element = resolved(found) else { throw refusal("refers to an object the export does not hold") }
            guard element.localName == "Obj", let list = element.elements.first(where: { $0.localName == "LST" || $0.localName == "IE" }) else {
                throw refusal("<\(element.localName)> where a list (<Obj><LST>) was expected")
            }
            // Bounded before anything is compared: a list may be referred to by every object.
            guard list.elements.count <= InventoryReport.maximumIDs else {
                throw refusal("\(list.elements.count) ids, over the limit of \(InventoryReport.maximumIDs)")
            }
            var ids: [String] = []
            for item in list.elements {
                guard item.localName == "S", item.elements.isEmpty else { throw refusal("holds <\(item.localName)>, not a mitigation id (<S>)") }
                guard RuleValidator.isValidID(item.text) else {
                    throw refusal("'\(String(item.text.prefix(64)))' is not a mitigation id (1 to 64 letters, digits, '.', '_' and '-')")
                }
                if !ids.contains(item.text) { ids.append(item.text) }
            }
            return ids
        }
    }
}
