// swift-tools-version:6.0
// A plain WebSocket echo on swift-nio with the same pipeline Switchyard uses (HTTP/1 server,
// WebSocket upgrader, NIOWebSocketFrameAggregator): the ceiling of the chosen stack, between
// Switchyard and the C ceilings in BENCHMARKS.md. Built and run by scripts/bench only.
import PackageDescription

let package = Package(
    name: "nio-wsecho",
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
    ],
    targets: [
        .executableTarget(
            name: "nio-wsecho",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        ),
    ]
)
