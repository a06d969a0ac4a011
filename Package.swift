// swift-tools-version:6.0
//
// Switchyard: a realtime application server that speaks Socket.IO.
//
// The targets form one-way layers; each depends only on the ones above it:
//
//   SwitchyardJSON   JSON values, a validating scanner and a serializer (no NIO types leak out)
//   EngineIO         Engine.IO v4: packets, payload codec, session state machine, NIO handlers
//   SwitchyardMessagePack  MessagePack values and codec, JSON conversion (the msgpack parser, Redis)
//   SocketIO         Socket.IO v5 as a client of EngineIO: parser, namespaces, sockets, rooms
//   SwitchyardHost   configuration, applications served by the host, composition of the server
//   switchyard       the command-line executable (composition root)
import PackageDescription

/// Test fixture plugins (C), built as `libFixture<Name>.so` next to the test binary.
let fixturePlugins = ["NoEntry", "ABIMismatch", "DuplicateA", "DuplicateB", "BadRoute", "BadSchema", "Trap", "UndefinedSymbol", "Behaviours"]

let package = Package(
    name: "Switchyard",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "switchyard", targets: ["switchyard"]),
        .library(name: "EngineIO", targets: ["EngineIO"]),
        .library(name: "SocketIO", targets: ["SocketIO"]),
        .library(name: "SwitchyardPluginKit", targets: ["SwitchyardPluginKit"]),
        // Example plugins: `make plugins` copies them into plugins/.
        .library(name: "ConformancePlugin", type: .dynamic, targets: ["ConformancePlugin"]),
        .library(name: "EchoPlugin", type: .dynamic, targets: ["EchoPlugin"]),
        .library(name: "ChatPlugin", type: .dynamic, targets: ["ChatPlugin"]),
        .library(name: "HelloCPlugin", type: .dynamic, targets: ["HelloCPlugin"]),
        .library(name: "TokenAuthPlugin", type: .dynamic, targets: ["TokenAuthPlugin"]),
    ] + fixturePlugins.map { .library(name: "Fixture\($0)", type: .dynamic, targets: ["Fixture\($0)"]) },
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        .target(
            name: "SwitchyardJSON"
        ),
        .target(
            name: "SwitchyardSchema",
            dependencies: ["SwitchyardJSON"]
        ),
        .target(
            name: "CSwitchyardPlugin",
            path: "Sources/CSwitchyardPlugin"
        ),
        .target(
            name: "SwitchyardPluginKit",
            dependencies: ["CSwitchyardPlugin", "SwitchyardJSON"]
        ),
        .target(
            name: "EngineIO",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "SwitchyardMessagePack",
            dependencies: [
                "SwitchyardJSON",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .target(
            name: "SocketIO",
            dependencies: [
                "EngineIO",
                "SwitchyardJSON",
                "SwitchyardMessagePack",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .systemLibrary(
            name: "CHiredis",
            path: "Sources/CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        .systemLibrary(
            name: "CCrypt",
            path: "Sources/CCrypt",
            providers: [.apt(["libcrypt-dev"])]
        ),
        .target(
            name: "SwitchyardStore",
            dependencies: [
                "SwitchyardJSON",
                "SocketIO",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                // The audit insert binds with the C API on GRDB's cached statement.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "SwitchyardRedis",
            dependencies: [
                "CHiredis",
                "SocketIO",
                "EngineIO",
                "SwitchyardJSON",
                "SwitchyardMessagePack",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "SwitchyardHost",
            dependencies: [
                "EngineIO",
                "SocketIO",
                "SwitchyardJSON",
                "SwitchyardSchema",
                "SwitchyardRedis",
                "SwitchyardStore",
                "CSwitchyardPlugin",
                "CCrypt",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "switchyard",
            dependencies: [
                "SwitchyardHost",
                "SocketIO",
                "SwitchyardRedis",
                "SwitchyardJSON",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                "SwitchyardStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "SwitchyardTestSupport",
            dependencies: [
                "EngineIO",
                "SwitchyardJSON",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TestSupport"
        ),
        // Example plugins.
        .target(name: "ConformancePlugin", dependencies: ["SwitchyardPluginKit"], path: "PluginSources/Conformance"),
        .target(name: "EchoPlugin", dependencies: ["SwitchyardPluginKit"], path: "PluginSources/Echo"),
        .target(name: "ChatPlugin", dependencies: ["SwitchyardPluginKit"], path: "PluginSources/Chat"),
        .target(name: "HelloCPlugin", dependencies: ["CSwitchyardPlugin"], path: "PluginSources/HelloC"),
        .target(
            name: "TokenAuthPlugin",
            dependencies: ["SwitchyardPluginKit", .product(name: "Crypto", package: "swift-crypto")],
            path: "PluginSources/TokenAuth"
        ),
        .testTarget(name: "TokenAuthTests", dependencies: ["TokenAuthPlugin", "SwitchyardPluginKit"]),
        .testTarget(name: "SwitchyardPluginKitTests", dependencies: ["SwitchyardPluginKit", "CSwitchyardPlugin"]),
        .testTarget(
            name: "SwitchyardStoreTests",
            dependencies: [
                "SwitchyardStore", "SwitchyardJSON", "SocketIO",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "SwitchyardRedisTests",
            dependencies: [
                "SwitchyardRedis", "SocketIO", "EngineIO", "SwitchyardJSON", "SwitchyardMessagePack", "SwitchyardTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "SwitchyardSchemaTests",
            dependencies: ["SwitchyardSchema", "SwitchyardJSON"]
        ),
        .testTarget(
            name: "SwitchyardJSONTests",
            dependencies: ["SwitchyardJSON"]
        ),
        .testTarget(
            name: "EngineIOTests",
            dependencies: [
                "EngineIO",
                "SwitchyardTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "SocketIOTests",
            dependencies: [
                "SocketIO",
                "SwitchyardTestSupport",
                "EngineIO",
                "SwitchyardJSON",
                "SwitchyardMessagePack",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "SwitchyardHostTests",
            dependencies: [
                "SwitchyardHost", "SwitchyardTestSupport", "SwitchyardJSON", "SwitchyardRedis", "SocketIO", "EngineIO",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ] + fixturePlugins.map {
        // Broken and misbehaving plugins the loader and error-boundary tests load for real.
        .target(name: "Fixture\($0)", dependencies: ["CSwitchyardPlugin"], path: "Tests/Fixtures/Plugins/\($0)")
    }
)

// libFuzzer targets (docs/FUZZING.md), one executable per parser that reads network bytes.
// They exist only when SWITCHYARD_FUZZ=1 (as `make fuzz` sets it), built into .build-fuzz with
// `-sanitize=fuzzer,address`: their main() hands over to libFuzzer, which a plain build lacks.
let fuzzTargets = [
    "engineio-packet", "polling-payload", "websocket-frames", "socketio-packet", "json-reader",
    "json-schema", "request-target", "redis-reply", "messagepack", "socketio-msgpack",
]
if Context.environment["SWITCHYARD_FUZZ"] == "1" {
    package.targets += [
        .target(name: "CFuzzerDriver", path: "Fuzz/CFuzzerDriver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzerDriver"], path: "Fuzz/Support"),
    ]
    for name in fuzzTargets {
        package.targets.append(
            .executableTarget(
                name: "fuzz-\(name)",
                dependencies: [
                    "FuzzSupport", "EngineIO", "SocketIO", "SwitchyardJSON", "SwitchyardSchema", "SwitchyardRedis",
                    "SwitchyardMessagePack",
                    .product(name: "NIOCore", package: "swift-nio"),
                ],
                path: "Fuzz/Targets/\(name)"
            )
        )
    }
}
