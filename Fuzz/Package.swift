// swift-tools-version:6.1
// Coverage-guided fuzz targets for ocs (libFuzzer). A package of its own, so that the root
// build and its tests never see them: build and run them with `Fuzz/run.sh` (see README.md).
import PackageDescription

// run.sh instruments every module (ours and the dependencies) for coverage and AddressSanitizer
// from the command line. Only the fuzz targets link libFuzzer (its `main` would clash with the
// build tool the root package runs); their Swift `@main` takes the place of libFuzzer's and
// starts its driver (FuzzSupport).
let fuzzSwiftSettings: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]
let fuzzLinkerSettings: [LinkerSetting] = [.unsafeFlags(["-sanitize=fuzzer,address"])]

let package = Package(
    name: "OCSFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "ocs", path: ".."),
    ],
    targets: [
        // Starts libFuzzer's driver from a target's Swift entry point.
        .target(name: "FuzzSupport"),
        // Feed query parsing as the server runs it: URLComponents query items into FeedQuery(items:).
        .executableTarget(name: "FuzzFeedQuery", dependencies: ["FuzzSupport", .product(name: "OCSFeed", package: "ocs")], swiftSettings: fuzzSwiftSettings, linkerSettings: fuzzLinkerSettings),
        // Rule documents (YAML, and JSON, which YAML contains) through RuleDocumentDecoder.
        .executableTarget(name: "FuzzRuleDecoder", dependencies: ["FuzzSupport", .product(name: "OCSRuleFiles", package: "ocs")], swiftSettings: fuzzSwiftSettings, linkerSettings: fuzzLinkerSettings),
        // Signed feeds through FeedVerifier: the strict XML parser, the signature profile, the digest.
        .executableTarget(name: "FuzzFeedVerifier", dependencies: ["FuzzSupport", .product(name: "OCSSigning", package: "ocs")], swiftSettings: fuzzSwiftSettings, linkerSettings: fuzzLinkerSettings),
        // RFC 3161 time-stamp tokens (BER) through TimeStampToken, against Microsoft's SignatureValue and root.
        .executableTarget(name: "FuzzTimeStampToken", dependencies: ["FuzzSupport", .product(name: "OCSSigning", package: "ocs")], swiftSettings: fuzzSwiftSettings, linkerSettings: fuzzLinkerSettings),
    ],
    swiftLanguageModes: [.v6]
)
