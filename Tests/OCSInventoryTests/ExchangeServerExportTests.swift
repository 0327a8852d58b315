import Foundation
import OCSDomain
import OCSInventory
import OCSTestSupport
import Testing

/// Get-ExchangeServer exports: Microsoft's own fixtures read exactly; hostile files refused with
/// the object and property named.
struct ExchangeServerExportTests {
    @Test func readsTheExchange2019ServerAsItsExportSaysIt() throws {
        let report = try ExchangeServerExport.read(try Data(contentsOf: RepositoryFixtures.exchange2019Export))
        #expect(report.skipped.isEmpty)
        #expect(report.servers == [InventoryServer(
            guid: "3c5ebdaf-1885-4f22-8f60-0e8c1667abed", name: "SOLO-E19A", fqdn: "Solo-E19A.Solo.com",
            build: ExchangeBuild(major: 15, minor: 2, build: 986, revision: 5), roles: "Mailbox",
            mitigationsEnabled: true, dataCollectionEnabled: false, applied: [], blocked: [], appliedAt: nil
        )])
    }

    @Test func readsBothExchange2016ServersWithTheirAppliedHeartbeat() throws {
        let report = try ExchangeServerExport.read(try Data(contentsOf: RepositoryFixtures.exchange2016Export))
        #expect(report.servers.map(\.name) == ["E2k16-1", "E2k16-2"])
        #expect(report.servers.map(\.guid) == ["cd546704-a106-4311-9e90-4762e4cc7304", "86323547-c7ca-4713-a19e-c1884e4b2527"])
        #expect(report.servers.allSatisfy { $0.build.description == "15.1.2507.18" && $0.applied == ["PING1"] && $0.blocked.isEmpty })
        #expect(report.servers.map(\.dataCollectionEnabled) == [true, false])
        // 2023-01-05T12:08:37.6177687Z, to the millisecond.
        #expect(report.servers[0].appliedAt == Date(timeIntervalSince1970: 1_672_920_517.617))
    }

    // MARK: Synthetic exports, in the shape Export-Clixml writes

    static func property(_ name: String, _ value: String?) -> String {
        switch name {
        case "AdminDisplayVersion":
            guard let value else { return #"<Nil N="AdminDisplayVersion" />"# }
            return #"<Obj N="AdminDisplayVersion" RefId="v"><TN RefId="tv"><T>Microsoft.Exchange.Data.ServerVersion</T></TN><ToString>\#(value)</ToString></Obj>"#
        case "ServerRole":
            return #"<Obj N="ServerRole" RefId="r"><TN RefId="tr"><T>Microsoft.Exchange.Data.Directory.SystemConfiguration.ServerRole</T></TN><ToString>\#(value ?? "")</ToString><I32>2</I32></Obj>"#
        case "MitigationsApplied", "MitigationsBlocked":
            guard let value else { return #"<Nil N="\#(name)" />"# }
            return #"<Obj N="\#(name)"><TN RefId="l\#(name)"><T>MultiValuedProperty</T></TN><LST>\#(value)</LST></Obj>"#
        case "Guid": return value.map { #"<G N="Guid">\#($0)</G>"# } ?? ""
        case "IsEdgeServer", "MitigationsEnabled", "DataCollectionEnabled": return value.map { #"<B N="\#(name)">\#($0)</B>"# } ?? ""
        default: return value.map { #"<S N="\#(name)">\#($0)</S>"# } ?? ""
        }
    }

    static let standard: [String: String?] = [
        "Name": "EX01", "Fqdn": "ex01.contoso.lab", "Guid": "0f8fad5b-d9cb-469f-a165-70867728950e",
        "AdminDisplayVersion": "Version 15.2 (Build 1544.4)", "ServerRole": "Mailbox", "IsEdgeServer": "false",
        "MitigationsEnabled": "true", "MitigationsApplied": "<S>PING1</S><S>M1</S>", "MitigationsBlocked": nil, "DataCollectionEnabled": "true",
    ]

    static func server(_ changes: [String: String?] = [:], type: String = "Microsoft.Exchange.Data.Directory.Management.ExchangeServer") -> String {
        let properties = standard.merging(changes) { $1 }
        let props = properties.keys.sorted().map { property($0, properties[$0] ?? nil) }.joined()
        return #"<Obj RefId="0"><TN RefId="0"><T>\#(type)</T><T>System.Object</T></TN><ToString>x</ToString><Props>\#(props)</Props></Obj>"#
    }

    static func export(_ objects: String...) -> Data {
        Data(("\u{FEFF}" + #"<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">"# + objects.joined() + "</Objs>").utf8)
    }

    func refusal(_ data: Data) -> ExchangeServerExport.Refusal? {
        do {
            _ = try ExchangeServerExport.read(data)
            return nil
        } catch {
            return error
        }
    }

    @Test func readsTheSynthesizedServerAndItsSelectObjectForm() throws {
        let report = try ExchangeServerExport.read(Self.export(Self.server()))
        #expect(report.servers.first?.applied == ["PING1", "M1"] && report.servers.first?.build.description == "15.2.1544.4")
        // Select-Object: the type is `Selected.…`, the properties in <MS>, as Report-ExchangeInventory.ps1 sends them.
        let selected = String(decoding: Self.export(Self.server(type: "Selected.Deserialized.Microsoft.Exchange.Data.Directory.Management.ExchangeServer")), as: UTF8.self)
            .replacingOccurrences(of: "<Props>", with: "<MS>").replacingOccurrences(of: "</Props>", with: "</MS>")
        #expect(try ExchangeServerExport.read(Data(selected.utf8)).servers == report.servers)
    }

    @Test func readsWindowsPowerShellsUTF16ExportAsItsUTF8One() throws {
        let utf8 = try ExchangeServerExport.read(try Data(contentsOf: RepositoryFixtures.exchange2016Export))
        let text = try #require(String(data: try Data(contentsOf: RepositoryFixtures.exchange2016Export), encoding: .utf8))
        let utf16 = Data([0xFF, 0xFE]) + text.replacingOccurrences(of: "\u{FEFF}", with: "").data(using: .utf16LittleEndian)!
        #expect(try ExchangeServerExport.read(utf16) == utf8)
    }

    @Test func skipsEdgeServersWithANote() throws {
        let edge = try ExchangeServerExport.read(Self.export(Self.server(["IsEdgeServer": "true", "Name": "EDGE01"])))
        #expect(edge.servers.isEmpty && edge.skipped.map(\.name) == ["EDGE01"])
        let byRole = try ExchangeServerExport.read(Self.export(Self.server(["ServerRole": "Edge", "IsEdgeServer": nil])))
        #expect(byRole.servers.isEmpty && byRole.skipped.count == 1)
    }

    @Test func refusesHostileFilesNamingTheObjectAndProperty() {
        let cases: [(Data, String)] = [
            (Data(#"<!DOCTYPE Objs [<!ENTITY x SYSTEM "file:///etc/passwd">]><Objs xmlns="http://schemas.microsoft.com/powershell/2004/04">&x;</Objs>"#.utf8), "a DOCTYPE"),
            (Data("<Objs xmlns=\"http://schemas.microsoft.com/powershell/2004/04\"><!-- x --></Objs>".utf8), "a comment"),
            (Data("<EOCS/>".utf8), "not <Objs>"),
            (Data(#"<Objs xmlns="http://schemas.microsoft.com/powershell/2004/04"></Objs>"#.utf8), "holds no server"),
            (Self.export(Self.server(type: "System.Diagnostics.Process")), "object 1: its type is 'System.Diagnostics.Process'"),
            (Self.export(Self.server(["Name": nil])), "object 1, property Name: missing"),
            (Self.export(Self.server(["Name": "EX01'; Remove-Item C:\\ -Recurse #"])), "property Name: 'EX01'"),
            (Self.export(Self.server(["Guid": "not-a-guid"])), "object 1 (EX01), property Guid: 'not-a-guid' is not a GUID"),
            (Self.export(Self.server(["AdminDisplayVersion": nil])), "property AdminDisplayVersion: missing"),
            (Self.export(Self.server(["AdminDisplayVersion": "Version 8.3 (Build 83.6)"])), "8.3.83.6 is not a build of Exchange 2016, 2019"),
            (Self.export(Self.server(["AdminDisplayVersion": "Version 15.2 (Build $(calc))"])), "is not an Exchange version"),
            (Self.export(Self.server(["MitigationsApplied": "<S>M1$(calc)</S>"])), "property MitigationsApplied: 'M1$(calc)' is not a mitigation id"),
            (Self.export(Self.server(["MitigationsApplied": "<I32>1</I32>"])), "property MitigationsApplied: holds <I32>"),
            (Self.export(Self.server(["MitigationsEnabled": "yes"])), "property MitigationsEnabled: 'yes' is not true or false"),
            (Self.export(Self.server(), Self.server()), "object 2 (EX01), property Guid: 0f8fad5b-d9cb-469f-a165-70867728950e is also object 1's"),
            (Self.export(Self.server(["MitigationsApplied": (0..<40).map { "<S>M\($0)</S>" }.joined()])), "40 ids, over the limit of 32"),
            (Self.export(Self.server(["MitigationsApplied": String(repeating: "<S>M1</S>", count: 50_000)])), "50000 ids, over the limit of 32"),
            (Self.export(Self.server(["Fqdn": "a.example"]).replacingOccurrences(of: "<Props>", with: "<Props><S N=\"Fqdn\">b.example</S>")), "property Fqdn: given twice"),
            (Data([0xFF, 0xFE, 0x3C, 0x00, 0x41]), "not valid UTF-16"),
            (Data([0xFF, 0xFE, 0x00, 0x00, 0x3C, 0x00, 0x00, 0x00]), "UTF-32"),
            (Data(("<Objs xmlns=\"http://schemas.microsoft.com/powershell/2004/04\">" + String(repeating: "<Obj>", count: 100) + String(repeating: "</Obj>", count: 100) + "</Objs>").utf8), "deeper than"),
        ]
        for (data, expected) in cases {
            let refusal = refusal(data)
            #expect(refusal?.description.contains(expected) == true, "\(expected): \(String(describing: refusal))")
        }
    }

    @Test func refusesAnExportOverItsSizeBeforeParsingIt() {
        let huge = Data(count: ExchangeServerExport.maximumBytes + 1)
        #expect(refusal(huge)?.description.contains("over the limit") == true)
    }
}
