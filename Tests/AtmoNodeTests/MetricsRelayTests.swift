import AsyncHTTPClient
import AtmoProtocol
import AtmoStore
import AtmoTesting
import AtmoTransfer
import Foundation
import Logging
import Testing

@testable import AtmoNode

/// `GET /metrics` counts the relayed-transfer path too: a pull over the provider's own
/// WebSocket (`/v1/transfers/ws`, the chunked transfer code relays run) moves the
/// provider's `direct_ws` bytes served for the consumer's node id, and the consumer engine's
/// counters its `direct_ws` bytes received for the provider's.
@Suite(.timeLimit(.minutes(2)))
struct MetricsRelayTests {
    static let logger = Logger(label: "atmo.test", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test func aPullOverTheWebSocketCountsDirectWSBytesOnBothSides() async throws {
        try await withFixtureNode(extra: [("metrics-ws.gguf", 3 * 1024 * 1024 + 11)]) { node, fixture in
            let provider = node.node.nodeID
            let modelID = "metrics-ws.gguf"
            let size = try #require(node.node.inventory.entries.first { $0.modelID == modelID }?.sizeBytes)
            let consumerMetrics = NodeMetrics()
            let mesh = RelayOnlyPeerTests.meshState()
            mesh.relayPeerPresent(nodeID: provider, name: "provider", relay: "ws://relay.test")
            let catalog = ModelCatalog(
                nodeID: provider, nodeName: "provider", timestamp: 1, models: node.node.inventory.entries,
                transferEndpoints: .init(http: nil, websocket: true))
            #expect(mesh.receiveOverRelay(catalog, from: provider))
            var configuration = PullConfiguration()
            configuration.pieceSize = 256 * 1024
            let result = try await HTTPClient.withHTTPClient(configuration: PullEngine.httpConfiguration(configuration)) { http in
                let engine = PullEngine(
                    http: http, database: try StateDatabase(), configuration: configuration, logger: Self.logger,
                    channelFactory: { source in
                        guard source.route == .websocket else { return nil }
                        let direct = PartialRelayServingTests.consumer(to: node)
                        var channel = RelaySourceChannel(
                            nodeID: provider, hub: direct.hub, mesh: mesh, localNodeID: "consumer-node", direct: direct.direct)
                        channel.modes = direct.modes
                        return channel
                    }
                ).withCounters(consumerMetrics)
                let source = PullSource(webSocketURL: "ws://127.0.0.1:\(node.port)\(HTTPAPI.transferSocketPath)", nodeID: provider)
                let request = PullRequest(
                    modelID: modelID, sources: [source], destination: LocalModelStore(directory: fixture.directory.sub("pulled")),
                    requesterNodeID: "consumer-node")
                return try await engine.pull(request)
            }
            #expect(result.bytesTransferred == size)

            let received = try PrometheusText(consumerMetrics.render())
            #expect(received.sum("atmo_bytes_received_total", ["route": "direct_ws", "peer": provider]) == Double(size))
            #expect(received.sum("atmo_bytes_received_total", ["route": "http"]) == 0)

            // The provider counts a transfer when it ends: poll its /metrics with a deadline.
            let deadline = ContinuousClock.now + .seconds(10)
            var served = 0.0
            while ContinuousClock.now < deadline {
                let answer = try #require(await HTTPProbe.get(port: node.port, path: "/metrics"))
                let text = try PrometheusText(String(decoding: answer.body, as: UTF8.self))
                served = text.sum("atmo_bytes_served_total", ["route": "direct_ws", "peer": "consumer-node"])
                if served >= Double(size) { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(served == Double(size))
        }
    }
}
