// swift-tools-version:6.0
import PackageDescription

// Layers, bottom to top (see docs/ARCHITECTURE.md):
//   AtmoProtocol  pure wire values and pure logic, Foundation only
//   AtmoStore     inventory, hashing, durable state (GRDB, swift-crypto)
//   AtmoMesh      pure mesh logic: gossip state machine, mesh catalog merge, peer ranking
//   AtmoDiscovery LAN discovery: DNS-SD over multicast DNS on SwiftNIO UDP
//   AtmoRelay     the relay's pure logic: admission, routing, flow-control decisions
//   AtmoTransfer  the pulling engine (AsyncHTTPClient)
//   AtmoHTTPServer  the server channel of both servers and its guards (Hummingbird, NIO)
//   AtmoDashboardAssets  the dashboard's files, embedded in the binary (`.embedInCode`)
//   AtmoNode      the HTTP server and the node's services (Hummingbird, ServiceLifecycle),
//                 including its relay client (WSClient)
//   AtmoRelayServer  `atmo relay`: the WebSocket relay around AtmoRelay (HummingbirdWebSocket)
//   atmo          the thin command-line executable (ArgumentParser)
//   AtmoTesting   fixtures, in-process nodes and fake peers for tests and benchmarks
let package = Package(
    name: "atmosphere-models",
    platforms: [.macOS(.v15), .iOS(.v18)],
    products: [
        .library(name: "AtmoProtocol", targets: ["AtmoProtocol"]),
        .library(name: "AtmoStore", targets: ["AtmoStore"]),
        .library(name: "AtmoMesh", targets: ["AtmoMesh"]),
        .library(name: "AtmoDiscovery", targets: ["AtmoDiscovery"]),
        .library(name: "AtmoRelay", targets: ["AtmoRelay"]),
        .library(name: "AtmoTransfer", targets: ["AtmoTransfer"]),
        .library(name: "AtmoNode", targets: ["AtmoNode"]),
        .library(name: "AtmoRelayServer", targets: ["AtmoRelayServer"]),
        .executable(name: "atmo", targets: ["atmo"]),
        .executable(name: "atmo-gossip-sim", targets: ["GossipSimulation"]),
        .executable(name: "atmo-swarm-sim", targets: ["SwarmSimulation"]),
        .executable(name: "atmo-example", targets: ["MeshBrowser"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket.git", from: "1.6.2"),
        // GET /metrics (issue 13): the node's own PrometheusCollectorRegistry, no global bootstrap.
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
    ],
    targets: [
        .target(name: "AtmoProtocol"),
        .target(name: "AtmoMesh", dependencies: ["AtmoProtocol"]),
        .target(name: "AtmoRelay", dependencies: ["AtmoProtocol"]),
        .target(
            name: "AtmoDiscovery",
            dependencies: [
                "AtmoProtocol",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The gossip simulation of docs/MESH.md: the real AtmoMesh state machine, 1,000 nodes, no sockets.
        .executableTarget(
            name: "GossipSimulation",
            dependencies: ["AtmoMesh", "AtmoProtocol", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // The swarm simulation of issue 10: the real AtmoTransfer SwarmSchedule per node, thousands of nodes, no sockets.
        .executableTarget(
            name: "SwarmSimulation",
            dependencies: ["AtmoTransfer", "AtmoProtocol", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .target(
            name: "AtmoStore",
            dependencies: [
                "AtmoProtocol",
                // statfs, which Swift's Glibc module does not export (FileIO.reserve on tmpfs).
                "CAtmoSystem",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                // NIOThreadPool: the bounded pool blocking file work runs on (BlockingIO).
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(
            name: "AtmoTransfer",
            dependencies: [
                "AtmoProtocol",
                "AtmoStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                // NIOConnectionError: what a refused connection throws (ErrorMapping).
                .product(name: "NIOPosix", package: "swift-nio"),
                // SplicedRangeConnection: splice(2) (CAtmoSystem), and NIO's HTTP/1 response
                // parser run on an EmbeddedChannel for the answer's head.
                "CAtmoSystem",
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        // The HTTP/1.1 + WebSocket server channel of both servers, with its guards
        // (connections per address, time to the first request head, request head rules).
        .target(
            name: "AtmoHTTPServer",
            dependencies: [
                "AtmoProtocol",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The dashboard's page and scripts, compiled into the binary (no files on disk, no JS build).
        .target(
            name: "AtmoDashboardAssets",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            resources: [.embedInCode("Assets")]
        ),
        .target(
            name: "AtmoNode",
            dependencies: [
                "AtmoDashboardAssets",
                "AtmoHTTPServer",
                "AtmoProtocol",
                "AtmoStore",
                "AtmoMesh",
                "AtmoDiscovery",
                "AtmoRelay",
                "AtmoTransfer",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "WSClient", package: "swift-websocket"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .target(
            name: "AtmoRelayServer",
            dependencies: [
                "AtmoHTTPServer",
                "AtmoProtocol",
                "AtmoRelay",
                "AtmoStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // glibc malloc tuning for the executable (malloc.h is not in Swift's Glibc module).
        .target(name: "CAtmoSystem"),
        .executableTarget(
            name: "atmo",
            dependencies: [
                "CAtmoSystem",
                "AtmoProtocol",
                "AtmoStore",
                "AtmoMesh",
                "AtmoDiscovery",
                "AtmoTransfer",
                "AtmoNode",
                "AtmoRelayServer",
                "AtmoHTTPServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // An app on the public API only (README quick start).
        .executableTarget(
            name: "MeshBrowser",
            dependencies: [
                "AtmoNode", "AtmoMesh",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Examples/MeshBrowser"
        ),
        .target(
            name: "AtmoTesting",
            dependencies: [
                "AtmoProtocol",
                "AtmoStore",
                "AtmoTransfer",
                "AtmoNode",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(name: "AtmoProtocolTests", dependencies: ["AtmoProtocol"]),
        .testTarget(
            name: "AtmoHTTPServerTests",
            dependencies: [
                "AtmoHTTPServer", .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "AtmoMeshTests", dependencies: ["AtmoMesh", "AtmoProtocol"]),
        .testTarget(name: "SwarmSimulationTests", dependencies: ["SwarmSimulation", "AtmoTransfer", "AtmoProtocol"]),
        .testTarget(
            name: "AtmoRelayTests",
            dependencies: ["AtmoRelay", "AtmoProtocol", "AtmoStore", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(
            name: "AtmoRelayServerTests",
            dependencies: [
                "AtmoRelayServer", "AtmoRelay", "AtmoProtocol", "AtmoStore", "AtmoTesting",
                .product(name: "WSClient", package: "swift-websocket"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "AtmoDiscoveryTests",
            dependencies: [
                "AtmoDiscovery", "AtmoProtocol",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "AtmoStoreTests",
            dependencies: [
                "AtmoStore", "AtmoTesting", "AtmoProtocol",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "AtmoTransferTests",
            dependencies: [
                "AtmoTransfer", "AtmoTesting", "AtmoNode", "AtmoProtocol", "AtmoStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "AtmoNodeTests",
            dependencies: [
                "AtmoNode", "AtmoTesting", "AtmoStore", "AtmoDashboardAssets",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "AtmoEndToEndTests",
            dependencies: [
                "AtmoTesting", "AtmoProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
    ]
)
