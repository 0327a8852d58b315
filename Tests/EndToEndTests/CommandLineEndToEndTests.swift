import Foundation
import OCSTestSupport
import Testing

struct CommandLineEndToEndTests {
    @Test func validateReportsEveryProblemAsFileLine() throws {
        let workspace = try Workspace()
        let bad = try workspace.write("id: bad id\ndescription: d\napplies:\n  fixedBy: Oct22SU\n  ranges: []\nactions: []\n", to: "bad/a.yaml")
        _ = try workspace.write("id: B\ndescription: d\nactions:\n  - type: DoNothing\n    what: 1\n", to: "bad/b.yaml")
        let result = try workspace.ocs("rules", "validate", URL(fileURLWithPath: bad).deletingLastPathComponent().path)
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        #expect(lines[0].hasSuffix("a.yaml:1: id: 'bad id' is not a valid id: use 1 to 64 of A-Z a-z 0-9 . _ -"))
        #expect(lines[1].hasSuffix("a.yaml:5: applies.ranges: use either 'fixedBy' or 'ranges', not both"))
        #expect(lines[2].hasSuffix("a.yaml:6: actions: needs at least one action"))
        #expect(lines[3].hasSuffix("b.yaml:5: actions[0].what: unknown field 'what' in a DoNothing action: expected one of type, description"))
        let good = try workspace.ocs("rules", "validate", workspace.rules)
        #expect(good.status == 0)
        #expect(good.output == "4 rules valid in \(workspace.rules)\n")
    }

    @Test func importWritesAllOrNothing() throws {
        let workspace = try Workspace()
        try workspace.createDatabase()
        _ = try workspace.write("id: GOOD\ndescription: d\nstate: published\nactions:\n  - type: DoNothing\n", to: "mixed/good.yaml")
        _ = try workspace.write("id: BAD\ndescription: d\nactions: []\n", to: "mixed/bad.yaml")
        let failed = try workspace.ocs("rules", "import", workspace.folder.appendingPathComponent("mixed").path, "--db", workspace.database)
        #expect(failed.status != 0)
        #expect(failed.stderr.contains("bad.yaml:3: actions: needs at least one action"))
        #expect(failed.stderr.contains("nothing was imported"))
        let listed = try workspace.ocs("rules", "list", "--db", workspace.database)
        #expect(listed.output == "ID  STATE  REVISION  RELEASED TO  APPLIES TO  DESCRIPTION\n")

        let imported = try workspace.ocs("rules", "import", workspace.rules, "--db", workspace.database)
        #expect(imported.output == "imported 4 rules: 4 created, 0 updated, 0 unchanged\n")
        let again = try workspace.ocs("rules", "import", workspace.rules, "--db", workspace.database)
        #expect(again.output == "imported 4 rules: 0 created, 0 updated, 4 unchanged\n")
        let list = try workspace.ocs("rules", "list", "--db", workspace.database).output
        #expect(list.contains("M1               published  1         everyone     Exchange2016,Exchange2019 until Oct22SU"))
        let show = try workspace.ocs("rules", "show", "M1", "--db", workspace.database)
        #expect(show.output.contains("pattern: .*autodiscover\\.json.*Powershell.*"))
        let missing = try workspace.ocs("rules", "show", "NOPE", "--db", workspace.database)
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("no rule with id 'NOPE'"))
    }

    @Test func describesBuilds() throws {
        let workspace = try Workspace()
        #expect(try workspace.ocs("builds", "describe", "15.2.1118.15").output == "Exchange 2019 CU12 Oct22SU\n")
        #expect(try workspace.ocs("builds", "describe", "Version 15.2 (Build 1118.16)").output == "Exchange 2019 CU12 (unlisted build 15.2.1118.16)\n")
        let bad = try workspace.ocs("builds", "describe", "15.2")
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("invalid build '15.2'"))
    }

    @Test func serveRefusesInvalidInitialRules() throws {
        let workspace = try Workspace()
        _ = try workspace.write("id: X\ndescription: d\nactions: []\n", to: "Rules/broken.yaml")
        #expect(throws: ServerDidNotStart.self) { try workspace.startServer() }
    }
}

struct RuleLifecycleCommandLineTests {
    @Test func publishRetireRevisionsDiffAndAuditFromTheShell() throws {
        let workspace = try Workspace()
        let db = ["--db", try workspace.createDatabase()]
        #expect(try Command.run(Command.ocs, ["rules", "import", workspace.rules] + db).status == 0)
        let edited = try workspace.write("id: M1\ndescription: edited text\nstate: draft\nactions:\n  - type: DoNothing\n", to: "edit/M1.yaml")
        #expect(try Command.run(Command.ocs, ["rules", "import", edited] + db).status == 0)
        let list = try Command.run(Command.ocs, ["rules", "list"] + db).output
        #expect(list.contains("M1               published  1 (2 pending)"))
        let diff = try Command.run(Command.ocs, ["rules", "diff", "M1"] + db).output
        #expect(diff.contains("--- M1 revision 1") && diff.contains("+++ M1 revision 2"))
        #expect(diff.contains("+ description: edited text"))
        #expect(diff.contains("- references:"))
        #expect(try Command.run(Command.ocs, ["rules", "publish", "M1"] + db).output == "published M1 at revision 2 to everyone\n")
        #expect(try Command.run(Command.ocs, ["rules", "publish", "M1", "--revision", "1"] + db).output == "published M1 at revision 1 to everyone\n")
        let again = try Command.run(Command.ocs, ["rules", "publish", "M1", "--revision", "1"] + db)
        #expect(again.status != 0)
        #expect(again.stderr.contains("published at revision 1 to everyone already"))
        #expect(try Command.run(Command.ocs, ["rules", "retire", "M1"] + db).output == "retired M1\n")
        let revisions = try Command.run(Command.ocs, ["rules", "revisions", "M1"] + db).output
        #expect(revisions.split(separator: "\n").count == 3)
        let audit = try Command.run(Command.ocs, ["audit", "--rule", "M1"] + db).output
        #expect(audit.contains("rule.retire"))
        #expect(audit.contains("local:"))
    }

    @Test func exportThenImportChangesNothing() throws {
        let workspace = try Workspace()
        let db = ["--db", try workspace.createDatabase()]
        #expect(try Command.run(Command.ocs, ["rules", "import", workspace.rules, "--publish", "--everyone"] + db).status == 0)
        let pending = try workspace.write("id: PING1\ndescription: pending edit\nactions:\n  - type: DoNothing\n", to: "edit/PING1.yaml")
        #expect(try Command.run(Command.ocs, ["rules", "import", pending] + db).status == 0)
        let before = try Command.run(Command.ocs, ["rules", "list"] + db).output
        let exported = workspace.folder.appendingPathComponent("exported").path
        #expect(try Command.run(Command.ocs, ["rules", "export", exported] + db).output == "exported 4 rules to \(exported)\n")
        let reimport = try Command.run(Command.ocs, ["rules", "import", exported] + db)
        #expect(reimport.output == "imported 4 rules: 0 created, 0 updated, 4 unchanged\n")
        #expect(try Command.run(Command.ocs, ["rules", "list"] + db).output == before)
        #expect(try Command.run(Command.ocs, ["rules", "validate", exported]).status == 0)
    }

    @Test func commandsOtherThanServeNeverCreateADatabase() throws {
        let workspace = try Workspace()
        let missing = workspace.folder.appendingPathComponent("typo/ocs.sqlite").path
        for arguments in [["hosts"], ["rules", "list"], ["tokens", "list"], ["audit"], ["rules", "import", workspace.rules], ["feed"]] {
            let result = try workspace.ocs(arguments + ["--db", missing])
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.contains("no database at \(missing)"), "\(arguments): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: workspace.folder.appendingPathComponent("typo").path))
        // OCS_DB names the database for every command, as in a container.
        try workspace.createDatabase()
        let listed = try Command.run("/usr/bin/env", ["OCS_DB=\(workspace.database)", Command.ocs, "rules", "list"])
        #expect(listed.status == 0, "\(listed.stderr)")
    }
}
