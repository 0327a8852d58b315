// swift-tools-version: 6.0
// The second reference of Benchmarks/run.sh: SwiftNIO's HTTP/1.1 pipeline, with the handlers ocs
// installs, answering every request with fixed bytes. A package of its own so ocs does not carry it.
import PackageDescription

let package = Package(
    name: "PlainNIOServer",
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "PlainNIOServer",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        )
    ]
)
