import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import OCSDomain

struct FeedRendererTests {
    let renderer = FeedRenderer()
    let ping = Mitigation(id: "PING1", description: "EEMS Heartbeat probe.", state: .published, actions: [.doNothing(description: "Ping.")])

    @Test func rendersTheHeartbeatLikeTheRealService() {
        #expect(renderer.render([ping]).signed(with: "<Signature></Signature>") == """
            <?xml version="1.0" encoding="utf-8"?>
            <EOCS version="1.0.4">
              <Config desc="EEMS Heartbeat probe." id="PING1">
                <ActionList>
                  <Action desc="Ping." scope="Server" type="DoNothing">
                    <Value>DoNothing</Value>
                  </Action>
                </ActionList>
              </Config>
              <Signature></Signature>
            </EOCS>
            """)
    }

    @Test func digestInputIsTheUnsignedDocumentWithoutItsDeclaration() {
        let document = renderer.render([ping], rootAttributes: [("serial", "7"), ("issued", "2026-11-23T06:00:00Z")])
        #expect(document.unsigned.hasPrefix(FeedRenderer.declaration + "\n<EOCS issued=\"2026-11-23T06:00:00Z\" serial=\"7\" version=\"1.0.4\">\n"))
        #expect(document.digestInput == String(document.unsigned.dropFirst(FeedRenderer.declaration.count + 1)))
        #expect(document.digestInput.hasSuffix("</Config>\n  \n</EOCS>"))
    }

    @Test func rendersEveryActionType() throws {
        let rule = Mitigation(id: "ALL", description: "all kinds", state: .published, actions: [
            .disableService("MSExchangeUM", description: nil),
            .disableAppPool("MSExchangeOWAAppPool", description: "pool"),
            .iisUrlRewrite(UrlRewrite(scope: .server, site: nil, rule: .init(name: "n", input: "{REQUEST_URI}", pattern: "a.*b", action: "AbortRequest")), description: nil),
        ])
        let document = try XMLDocument(data: Data(renderer.render([rule]).unsigned.utf8))
        let actions = try document.nodes(forXPath: "/EOCS/Config/ActionList/Action") as! [XMLElement]
        #expect(actions.map { $0.attribute(forName: "type")?.stringValue } == ["DisableService", "DisableAppPool", "IISUrlRewrite"])
        #expect(actions.map { $0.elements(forName: "Value").first?.stringValue } == ["MSExchangeUM", "MSExchangeOWAAppPool", "n"])
        #expect(actions.map { $0.attribute(forName: "desc")?.stringValue } == ["all kinds", "pool", "all kinds"])
        #expect(actions.map { $0.attribute(forName: "scope")?.stringValue } == ["Server", "Server", "Server"])
        #expect(actions[2].attribute(forName: "site") == nil)
        #expect(actions[2].elements(forName: "Rule").first?.attribute(forName: "pattern")?.stringValue == "a.*b")
    }

    @Test(arguments: [
        #""/><Config id="X">"#,
        #"quotes " and ' apostrophes, <tags> & ampersands"#,
        "tab\tnew\nline\rreturn",
        "]]> <!-- --> <?pi?> &amp; &#x41;",
    ])
    func escapesEveryValueAsData(_ hostile: String) throws {
        let rule = Mitigation(id: "INJ", description: hostile, state: .published, actions: [
            .disableService(hostile, description: hostile),
            .iisUrlRewrite(UrlRewrite(scope: .site, site: hostile, rule: .init(name: hostile, input: hostile, pattern: "x", action: "AbortRequest")), description: nil),
        ])
        let document = try XMLDocument(data: Data(renderer.render([rule]).unsigned.utf8))
        let configs = try document.nodes(forXPath: "//Config") as! [XMLElement]
        #expect(configs.count == 1)
        #expect(configs.first?.attribute(forName: "id")?.stringValue == "INJ")
        #expect(configs.first?.attribute(forName: "desc")?.stringValue == hostile)
        let values = try document.nodes(forXPath: "//Value").map(\.stringValue)
        #expect(values == [hostile, hostile])
        let site = try document.nodes(forXPath: "//Action[@type='IISUrlRewrite']/@site").first?.stringValue
        #expect(site == hostile)
    }

    @Test func escapesInCanonicalForm() {
        #expect(XMLText.escapeAttribute("a&<>\"'\t\n\r") == "a&amp;&lt;>&quot;'&#x9;&#xA;&#xD;")
        #expect(XMLText.escapeText("a&<>\"'\t\n\r") == "a&amp;&lt;&gt;\"'\t\n&#xD;")
    }

    @Test func selectsPublishedApplicableRulesInIDOrder() throws {
        let m1 = Mitigation(id: "M1", description: "d", state: .published, applies: Applicability(products: [.exchange2019], narrowing: .fixedBy("Oct22SU")), actions: [.doNothing(description: nil)])
        let draft = Mitigation(id: "D", description: "d", state: .draft, actions: [.doNothing(description: nil)])
        let retired = Mitigation(id: "R", description: "d", state: .retired, actions: [.doNothing(description: nil)])
        let rules = [ping, m1, draft, retired]
        let catalog = BuildCatalog.embedded
        #expect(renderer.configs(from: rules, for: try ExchangeBuild(parsing: "15.2.1118.7"), catalog: catalog).map(\.id) == ["M1", "PING1"])
        #expect(renderer.configs(from: rules, for: try ExchangeBuild(parsing: "15.2.1118.15"), catalog: catalog).map(\.id) == ["PING1"])
        #expect(renderer.configs(from: rules, for: nil, catalog: catalog).map(\.id) == ["PING1"])
    }
}
