import AsyncHTTPClient
import AtmoProtocol
import AtmoStore
import AtmoTesting
import AtmoTransfer
import Foundation
import Logging
import NIOPosix
import Synchronization
import Testing

@testable import AtmoNode

/// `GET /metrics` counts the relayed-transfer path too: a pull over the provider's own
/// WebSocket (`/v1/transfers/ws`, the chunked transfer code relays run) moves the
/// provider's `direct_ws` bytes served for the consumer's node id, and the consumer engine's
/// counters its `direct_ws` bytes received for the provider's. A chunk the provider sends
/// again because its ack timed out is served once: its resends count in
/// `atmo_bytes_resent_total` (`UploadTally`).
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
            let deadline = ContinuousClock.now + .seconds(60)
            var served = 0.0
            while ContinuousClock.now < deadline {
                let answer = try #require(await HTTPProbe.get(port: node.port, path: "/metrics"))
                let text = try PrometheusText(String(decoding: answer.body, as: UTF8.self))
                served = text.sum("atmo_bytes_served_total", ["route": "direct_ws", "peer": "consumer-node"])
                if served >= Double(size) { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            // Equal, not at least: a chunk sent again after its ack timed out (go-back-N after a
            // stalled first ack sends a whole run twice) counts in atmo_bytes_resent_total.
            #expect(served == Double(size))
        }
    }

    /// Go-back-N after a stall: every chunk of the run goes out again, and again while no ack
    /// comes. Served bytes are the range's, once; the other transmissions are resent bytes.
    @Test func aRunSentAgainAfterItsAckTimedOutIsServedOnceAndResentApart() async throws {
        try await withFixtureNode(extra: [("metrics-resent.gguf", 1024 * 1024)]) { node, _ in
            let (modelID, consumer, link) = ("metrics-resent.gguf", "consumer-node", "relay.test")
            let entry = try #require(node.node.inventory.entries.first { $0.modelID == modelID })
            let (chunkBytes, chunks): (Int64, Int64) = (65536, 4)
            let hub = TransferHub(acceptsBinary: false)
            let chunksSent = Mutex(Int64(0))
            hub.linkJoined(link, relayForwardsBinary: false) { frame in
                if case .text(.direct(let direct)) = frame, direct.payload["type"]?.stringValue == ModelTransferChunk.messageType {
                    chunksSent.withLock { $0 += 1 }
                }
                return true
            }
            hub.peerPresent(link, nodeID: consumer, capabilities: [])
            let fileReaders = NIOThreadPool(numberOfThreads: 1)
            fileReaders.start()
            let ledger = TransferLedger()
            var provider = RelayTransferProvider(
                hub: hub, inventory: node.node.inventory, partialOffers: node.node.partialOffers, ledger: ledger,
                nodeID: node.node.nodeID, fileReaders: fileReaders, logger: Self.logger)
            // Every chunk of the range in the first window; resends after 50 ms, without end.
            provider.configuration.initialWindowChunks = chunks
            provider.configuration.initialResendTimeoutMs = 50
            provider.configuration.minResendTimeoutMs = 50
            provider.configuration.maxResends = 10_000
            let request = ModelRequest(
                requestID: "resent-run", requesterNodeID: consumer, targetNodeID: node.node.nodeID, modelID: modelID,
                transport: .websocket, sha256: entry.sha256, endByte: chunks * chunkBytes, transferModes: [.fastText],
                maxChunkBytes: chunkBytes)
            let serving = Task { [provider] in await provider.serve(request, to: consumer, via: link) }
            // A guard, not a bound: the run goes out twice within 100 ms unless the machine stalls.
            let deadline = ContinuousClock.now + .seconds(60)
            while chunksSent.withLock({ $0 }) < 2 * chunks, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            let ack = ModelTransferChunkAck(requestID: request.requestID, chunkIndex: chunks - 1, cumulative: true)
            #expect(hub.deliver(.message(.chunkAck(ack)), requestID: request.requestID, from: consumer))
            await serving.value
            try await fileReaders.shutdownGracefully()

            let transmissions = chunksSent.withLock { $0 }
            #expect(transmissions >= 2 * chunks, "the run was sent again before the ack")
            let text = try PrometheusText(ledger.metrics.render())
            let labels = ["route": "relay", "peer": consumer]
            #expect(text.sum("atmo_bytes_served_total", labels) == Double(chunks * chunkBytes))
            #expect(text.sum("atmo_bytes_resent_total", labels) == Double((transmissions - chunks) * chunkBytes))
            #expect(ledger.snapshot.bytesServed == chunks * chunkBytes)
        }
    }

    /// What the provider counts of each transmission: a chunk's first on the link is served,
    /// later ones are resent; one the link refused counts nowhere, and a refused first send
    /// is served by the resend that carries it.
    @Test func eachChunkIsServedOnceOnItsFirstTransmissionTheLinkTook() {
        let slices = (0..<3).map { ChunkSlice(index: Int64($0), offset: Int64($0) * 100, length: 100) }
        var tally = UploadTally()
        // (chunk, resend, the link took it) -> the chunk's first transmission on the link.
        let transmissions: [(Int, Bool, Bool, first: Bool)] = [
            (0, false, true, true), (1, false, false, false), (2, false, true, true),
            // Go-back-N from chunk 0: chunk 1's resend is its first on the link.
            (0, true, true, false), (1, true, true, true), (2, true, false, false),
            (2, true, true, false), (1, true, true, false),
        ]
        for (index, resend, took, first) in transmissions {
            let counted = tally.transmitted(slices[index], resend: resend, took: took)
            #expect(counted == first, "chunk \(index), resend \(resend), taken \(took)")
        }
        #expect(tally.served == 300)
        #expect(tally.resent == 300)
    }
}
