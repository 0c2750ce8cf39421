import AsyncHTTPClient
import AtmoProtocol
import AtmoStore
import AtmoTesting
import AtmoTransfer
import Foundation
import Logging
import Testing

@testable import AtmoNode

/// `GET /v1/node`'s `serving` lists a transfer over the provider's own WebSocket (the
/// chunked transfer code relays run) as `direct`, for the consumer's node id, while it runs.
@Suite(.timeLimit(.minutes(2)))
struct DashboardRelayServingTests {
    static let logger = Logger(label: "atmo.test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// The provider's upload limit makes the transfer last about 21 s, a window the polls of
    /// `/v1/node` catch however slowly a loaded machine runs them (at 700 KB/s, 3 s, a loaded
    /// run could miss it). The shaper does not slow down under load; the polls do.
    static let rate = 100_000.0

    @Test func aDirectUploadIsListedWhileItRuns() async throws {
        let modelID = "serving-ws.gguf"
        try await withFixtureNode(
            extra: [(modelID, 2 * 1024 * 1024)], configure: { $0.bandwidth.up = ByteRate(bytesPerSecond: Self.rate) }
        ) { node, fixture in
            let provider = node.node.nodeID
            let mesh = RelayOnlyPeerTests.meshState()
            mesh.relayPeerPresent(nodeID: provider, name: "provider", relay: "ws://relay.test")
            let catalog = ModelCatalog(
                nodeID: provider, nodeName: "provider", timestamp: 1, models: node.node.inventory.entries,
                transferEndpoints: .init(http: nil, websocket: true))
            #expect(mesh.receiveOverRelay(catalog, from: provider))
            var configuration = PullConfiguration()
            configuration.pieceSize = 256 * 1024
            let pull = Task {
                try await HTTPClient.withHTTPClient(configuration: PullEngine.httpConfiguration(configuration)) { http in
                    let engine = PullEngine(
                        http: http, database: try StateDatabase(), configuration: configuration, logger: Self.logger,
                        channelFactory: { source in
                            guard source.route == .websocket else { return nil }
                            let direct = PartialRelayServingTests.consumer(to: node)
                            var channel = RelaySourceChannel(
                                nodeID: provider, hub: direct.hub, mesh: mesh, localNodeID: "consumer-node", direct: direct.direct)
                            channel.modes = direct.modes
                            return channel
                        })
                    let source = PullSource(webSocketURL: "ws://127.0.0.1:\(node.port)\(HTTPAPI.transferSocketPath)", nodeID: provider)
                    let request = PullRequest(
                        modelID: modelID, sources: [source], destination: LocalModelStore(directory: fixture.directory.sub("pulled")),
                        requesterNodeID: "consumer-node")
                    return try await engine.pull(request)
                }
            }
            let url = node.baseURL + NodeAPI.path
            var upload: [String: Any] = [:]
            let listed = try await eventually {
                let serving = try await Client.json(url)["serving"] as? [[String: Any]] ?? []
                guard let entry = serving.first(where: { $0["model_id"] as? String == modelID }),
                    (entry["bytes_sent"] as? NSNumber)?.int64Value ?? 0 > 0
                else { return false }
                upload = entry
                return true
            }
            #expect(listed, "the direct upload shows in serving while it runs")
            #expect(upload["route"] as? String == "direct")
            #expect(upload["peer"] as? String == "consumer-node")
            let result = try await pull.value
            #expect(result.bytesTransferred == 2 * 1024 * 1024)
            let gone = try await eventually { (try await Client.json(url)["serving"] as? [Any])?.isEmpty == true }
            #expect(gone)
        }
    }
}
