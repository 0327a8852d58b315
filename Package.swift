// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "ocs",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ocs", targets: ["ocs"]),
        // For the fuzz targets in Fuzz/ (a separate package that depends on this one by path).
        .library(name: "OCSFeed", targets: ["OCSFeed"]),
        .library(name: "OCSSigning", targets: ["OCSSigning"]),
        .library(name: "OCSRuleFiles", targets: ["OCSRuleFiles"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: [.defaults, "YAML"]),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        // Pure domain: Exchange builds, the catalog, rules, applicability, feed rendering. No I/O.
        .target(
            name: "OCSDomain",
            resources: [.embedInCode("Catalog/exchange-builds.csv")]
        ),
        // YAML rule files: decoding with line numbers, validation reports, encoding for export.
        .target(
            name: "OCSRuleFiles",
            dependencies: ["OCSDomain", .product(name: "Yams", package: "Yams")]
        ),
        // SQLite storage through GRDB: migrations, rules, check-ins, hosts.
        .target(
            name: "OCSStorage",
            dependencies: [
                "OCSDomain",
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C API, for the check-in writer's statements (RawStatement).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            plugins: ["EmbedMigrations"]
        ),
        // PostgreSQL through postgres-nio: its migrations (Migrations/postgres/), the migrator, connections.
        .target(
            name: "OCSPostgres",
            dependencies: [
                "OCSDomain", "OCSStorage",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            plugins: ["EmbedMigrations"]
        ),
        // The application layer: the composition root of stores and the operations every front
        // end (API, dashboard, command line) performs, with one error type they each word.
        .target(
            name: "OCSOperations",
            dependencies: [
                "OCSDomain", "OCSStorage", "OCSInventory", "OCSSigning",
                .product(name: "X509", package: "swift-certificates"),
            ]
        ),
        // Reports of servers running Microsoft's own EM service: Get-ExchangeServer's CliXml, read strictly.
        .target(name: "OCSInventory", dependencies: ["OCSDomain", "OCSXML"]),
        // A strict XML reader with no I/O (no DTD, no entities, bounded size and depth): feeds and CliXml.
        .target(name: "OCSXML", dependencies: ["OCSDomain"]),
        // XML signatures for the feed: signing identities, the enveloped signature, verification.
        .target(
            name: "OCSSigning",
            dependencies: [
                "OCSDomain", "OCSXML",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),
        // The system zlib, for gzipping each feed once.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // The feed as a service: query validation, rendering per build, check-in recording.
        .target(
            name: "OCSFeed",
            dependencies: [
                "OCSDomain", "OCSStorage", "OCSSigning", "CZlib",
                .product(name: "NIOCore", package: "swift-nio"),
                // The response headers of each feed, made once when it is signed.
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The web dashboard's pages: escaping HTML builders, pages, SVG coverage bars, the stylesheet
        // (no I/O; its controller, sessions and CSRF, is in OCSServer).
        .target(
            name: "OCSDashboard",
            dependencies: ["OCSDomain", "OCSStorage"]
        ),
        // HTTP on SwiftNIO: the listener, routing and the feed endpoint.
        .target(
            name: "OCSServer",
            dependencies: [
                "OCSDomain", "OCSFeed", "OCSStorage", "OCSOperations", "OCSSigning", "OCSRuleFiles", "OCSDashboard",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // The agent side of the protocol: poll, verify against pinned trust, refuse rollback, apply.
        .target(
            name: "OCSAgent",
            dependencies: [
                "OCSDomain", "OCSSigning",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // The `ocs` command line: one subcommand per file.
        .executableTarget(
            name: "ocs",
            dependencies: [
                "OCSDomain", "OCSRuleFiles", "OCSStorage", "OCSPostgres", "OCSOperations", "OCSSigning", "OCSFeed", "OCSServer", "OCSAgent",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // Settings from options, environment and a YAML file (Configuration/).
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // Build tool: turns Migrations/*.sql into Swift source so the binary carries them.
        .executableTarget(name: "MigrationEmbedder"),
        .plugin(
            name: "EmbedMigrations",
            capability: .buildTool(),
            dependencies: ["MigrationEmbedder"]
        ),
        // Shared test fixtures: temporary databases, the `ocs` binary and its server process.
        .target(
            name: "OCSTestSupport",
            dependencies: [
                "OCSStorage", "OCSPostgres",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/OCSTestSupport"
        ),
        .testTarget(name: "OCSDomainTests", dependencies: ["OCSDomain"]),
        .testTarget(
            name: "OCSPostgresTests",
            dependencies: [
                "OCSDomain", "OCSPostgres", "OCSStorage", "OCSTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                // The SQLite schema, read to compare with PostgreSQL's.
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(name: "OCSRuleFilesTests", dependencies: ["OCSRuleFiles", "OCSTestSupport"]),
        .testTarget(name: "OCSStorageTests", dependencies: ["OCSStorage", "OCSTestSupport", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "OCSOperationsTests", dependencies: ["OCSOperations", "OCSStorage", "OCSDomain", "OCSRuleFiles", "OCSTestSupport"]),
        .testTarget(name: "OCSSigningTests", dependencies: ["OCSSigning", "OCSDomain", "OCSXML", "OCSTestSupport"]),
        .testTarget(name: "OCSXMLTests", dependencies: ["OCSXML", "OCSTestSupport"]),
        .testTarget(name: "OCSInventoryTests", dependencies: ["OCSInventory", "OCSDomain", "OCSTestSupport"]),
        .testTarget(
            name: "OCSFeedTests",
            dependencies: ["OCSFeed", "OCSTestSupport", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")]
        ),
        .testTarget(
            name: "OCSDashboardTests",
            dependencies: ["OCSDashboard", "OCSDomain", "OCSStorage"]
        ),
        .testTarget(name: "OCSAgentTests", dependencies: ["OCSAgent", "OCSSigning", "OCSDomain", "OCSTestSupport"]),
        // The HTTP handlers in process, on SwiftNIO's EmbeddedChannel, and the whole server in process.
        .testTarget(
            name: "OCSServerTests",
            dependencies: [
                "OCSServer", "OCSOperations", "OCSFeed", "OCSSigning", "OCSStorage", "OCSTestSupport",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Drives the real `ocs` binary over loopback sockets, judged by curl and xmllint.
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "ocs", "OCSTestSupport", "OCSStorage",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
