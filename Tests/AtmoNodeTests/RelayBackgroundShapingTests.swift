import AsyncHTTPClient
import AtmoProtocol
import AtmoStore
import AtmoTesting
import AtmoTransfer
import Foundation
import Logging
import Testing

@testable import AtmoNode

/// A background pull (the node's `normal` and `low` downloads) over the relayed-transfer
/// route is a background transfer for the shaper, as over HTTP: the engine's flag reaches
/// the `RelaySourceChannel`, whose pieces are admitted through the peer's delay controller
/// (here the provider's own WebSocket, which runs the relayed transfer code).
@Suite(.timeLimit(.minutes(2)))
struct RelayBackgroundShapingTests {
    static let logger = Logger(label: "atmo.test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Pulls `modelID` from `node` over its WebSocket into `store`, shaped by `shaper`.
    static func pull(
        _ modelID: String, from node: RunningNode, into store: LocalModelStore, shaper: BandwidthShaper, background: Bool
    ) async throws -> PullResult {
        var configuration = PullConfiguration()
        configuration.pieceSize = 64 * 1024
        let shaped = configuration.shaped(by: shaper)
        // The consumer knows the provider's catalog, as through a relay.
        let mesh = RelayOnlyPeerTests.meshState()
        let provider = node.node.nodeID
        mesh.relayPeerPresent(nodeID: provider, name: "provider", relay: "ws://relay.test")
        let catalog = ModelCatalog(
            nodeID: provider, nodeName: "provider", timestamp: 1, models: node.node.inventory.entries,
            transferEndpoints: .init(http: nil, websocket: true))
        #expect(mesh.receiveOverRelay(catalog, from: provider))
        return try await HTTPClient.withHTTPClient(configuration: PullEngine.httpConfiguration(shaped)) { http in
            let engine = PullEngine(
                http: http, database: try StateDatabase(), configuration: shaped, logger: logger,
                channelFactory: { source in
                    guard source.route == .websocket else { return nil }
                    let direct = PartialRelayServingTests.consumer(to: node)
                    var channel = RelaySourceChannel(
                        nodeID: provider, hub: direct.hub, mesh: mesh, localNodeID: "consumer", direct: direct.direct, shaper: shaper)
                    channel.modes = direct.modes
                    return channel
                }
            ).background(background)
            let source = PullSource(webSocketURL: "ws://127.0.0.1:\(node.port)\(HTTPAPI.transferSocketPath)", nodeID: node.node.nodeID)
            let request = PullRequest(modelID: modelID, sources: [source], destination: store, requesterNodeID: "consumer")
            return try await engine.pull(request)
        }
    }

    @Test("a background pull over the relayed-transfer route goes through the delay controller; a foreground one does not")
    func backgroundReachesTheRelayedRoute() async throws {
        try await withFixtureNode { node, fixture in
            let provider = node.node.nodeID
            let background = BandwidthShaper()
            let pulled = try await Self.pull(
                NodeFixture.tinyID, from: node, into: LocalModelStore(directory: fixture.directory.sub("bg")), shaper: background,
                background: true)
            #expect(!pulled.alreadyInstalled && pulled.bytesTransferred == Int64(NodeFixture.tinySize))
            let controller = try #require(background.controller(peer: provider, direction: .down))
            #expect(controller.bytesSent == Int64(NodeFixture.tinySize), "\(controller)")
            #expect(controller.baseDelayMs != nil)

            let foreground = BandwidthShaper()
            _ = try await Self.pull(
                NodeFixture.weightsID, from: node, into: LocalModelStore(directory: fixture.directory.sub("fg")), shaper: foreground,
                background: false)
            #expect((foreground.controller(peer: provider, direction: .down)?.bytesSent ?? 0) == 0)
        }
    }
}
