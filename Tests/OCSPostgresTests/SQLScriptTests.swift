import Testing
@testable import OCSPostgres

struct SQLScriptTests {
    @Test func cutsAtSemicolonsOutsideStringsQuotesCommentsAndDollarBodies() {
        let script = """
            -- a comment; not a statement
            CREATE TABLE "a;b" (x TEXT DEFAULT 'it''s; fine');
            /* block; /* nested; */ still comment; */
            CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $function$
            BEGIN
                RAISE EXCEPTION 'no; never';
                RETURN NULL;
            END
            $function$;
            SELECT $1, $$x;y$$;
            INSERT INTO t VALUES (1)
            -- trailing comment only;
            """
        let statements = SQLScript.statements(script)
        #expect(statements.count == 4)
        #expect(statements[0] == "-- a comment; not a statement\nCREATE TABLE \"a;b\" (x TEXT DEFAULT 'it''s; fine');")
        #expect(statements[1].hasPrefix("/* block; /* nested; */ still comment; */\nCREATE FUNCTION f()"))
        #expect(statements[1].hasSuffix("END\n$function$;"))
        #expect(statements[2] == "SELECT $1, $$x;y$$;")
        #expect(statements[3] == "INSERT INTO t VALUES (1)\n-- trailing comment only;", "the last statement needs no semicolon")
        #expect(SQLScript.statements("-- nothing;\n  ;\n/* ; */").isEmpty, "comments and empty statements are no statements")
    }
}
