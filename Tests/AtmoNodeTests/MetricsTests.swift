import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

/// `GET /metrics` (issue 13): real nodes, a real download, the text parsed back.
@Suite(.timeLimit(.minutes(2)))
struct MetricsTests {
    @Test func aDownloadMovesTheCountersOfBothNodes() async throws {
        try await withTemporaryDirectory { directory in
            let offered = directory.sub("offered")
            let size = 9 * 1024 * 1024 + 5
            _ = try ModelFixtures.writeModel(at: offered + "/gamma.gguf", size: size, seed: 43, header: .gguf)
            try await withMeshNode(stateDirectory: directory.sub("a"), folders: [offered]) { a in
                try await withMeshNode(stateDirectory: directory.sub("b"), folders: []) { configuration in
                    configuration.mesh.peers = [a.baseURL]
                } _: { b in
                    let before = try await Self.scrape(b.port)
                    #expect(before.sum("atmo_bytes_received_total") == 0)
                    #expect(before.sum("atmo_downloads_finished_total") == 0)
                    #expect(before.types["atmo_bytes_received_total"] == "counter")
                    #expect(before.types["atmo_downloads"] == "gauge")
                    #expect(before.series("atmo_downloads_finished_total").count == 3, "completed, failed, cancelled")

                    for await models in b.node.modelUpdates where models.contains(where: { $0.entry.modelID == "gamma.gguf" }) { break }
                    // A knows B (B's catalog reached it): the only peer on B's address.
                    let deadline = ContinuousClock.now + .seconds(60)
                    var knowsB = false
                    while !knowsB, ContinuousClock.now < deadline {
                        let peers = await HTTPProbe.get(port: a.port, path: "/v1/mesh/peers")
                        knowsB = peers.map { String(decoding: $0.body, as: UTF8.self).contains(b.node.nodeID) } ?? false
                        if !knowsB { try await Task.sleep(for: .milliseconds(50)) }
                    }
                    try #require(knowsB, "A never listed B among its peers: the per-peer labels below need it")
                    let requestID = try b.node.download(modelID: "gamma.gguf")
                    for await update in b.node.downloadUpdates where update.requestID == requestID {
                        if case .completed = update.state { break }
                        if case .failed(let reason, _) = update.state { Issue.record("failed: \(reason)"); return }
                    }

                    let consumer = try await Self.scrape(b.port)
                    #expect(consumer.sum("atmo_bytes_received_total") >= Double(size))
                    #expect(consumer.sum("atmo_bytes_received_total", ["route": "http", "peer": a.node.nodeID]) >= Double(size))
                    #expect(consumer.sum("atmo_downloads_finished_total", ["state": "completed"]) == 1)
                    #expect(consumer.sum("atmo_downloads") == 0, "nothing is left in the queue")
                    #expect(consumer.sum("atmo_mesh_models") >= 1)
                    #expect(consumer.sum("atmo_mesh_peers") >= 1)
                    #expect(consumer.sum("atmo_gossip_messages_sent_total") + consumer.sum("atmo_gossip_messages_received_total") > 0)
                    #expect(consumer.sum("atmo_relay_connections") == 0)

                    let provider = try await Self.scrape(a.port)
                    #expect(provider.sum("atmo_bytes_served_total", ["route": "http"]) >= Double(size))
                    // Range requests name no requester: B is told by its address, on which
                    // it is A's only peer (MeshState.nodeID(ofClientAt:)).
                    #expect(provider.sum("atmo_bytes_served_total", ["route": "http", "peer": b.node.nodeID]) >= Double(size))
                    #expect(provider.sum("atmo_bytes_received_total") == 0)
                    #expect(provider.sum("atmo_hash_bytes_total") >= Double(size))
                    #expect(provider.sum("atmo_hash_files_total") >= 1)
                    #expect(provider.sum("atmo_hash_seconds_total") > 0)
                    // Every piece was checked against the manifest (a swarm pull) or by the
                    // whole-file hash; none was rejected.
                    #expect(consumer.sum("atmo_pieces_rejected_total") == 0)
                }
            }
        }
    }

    /// A hostile mesh of 10,000 node ids: the registry keeps at most `capacity` peer
    /// series (plus `unknown` and `other`) per route, and no byte is lost.
    @Test func peerLabelsAreBoundedAndNoByteIsLost() throws {
        let metrics = NodeMetrics(peerLabels: 32)
        for index in 0..<10_000 {
            metrics.served(bytes: 10, route: .relay, peer: String(format: "%064x", index))
        }
        for index in 0..<10_000 {
            metrics.received(bytes: 3, route: .relay, peer: "node-\(index)")
        }
        // Ids that are not plain tokens never become labels.
        metrics.served(bytes: 7, route: .http, peer: "evil\"}\nvalue 1")
        metrics.served(bytes: 1, route: .http, peer: String(repeating: "a", count: 10_000))
        metrics.served(bytes: 2, route: .http, peer: nil)
        let text = try PrometheusText(metrics.render())
        let served = text.series("atmo_bytes_served_total")
        #expect(Set(served.map { $0.labels["peer"] ?? "" }).count <= 32 + 2)
        #expect(text.sum("atmo_bytes_served_total", ["route": "relay"]) == 100_000)
        #expect(text.sum("atmo_bytes_served_total", ["route": "relay", "peer": "other"]) == Double(10_000 - 32) * 10)
        #expect(text.sum("atmo_bytes_served_total", ["route": "http", "peer": "other"]) == 8)
        #expect(text.sum("atmo_bytes_served_total", ["route": "http", "peer": "unknown"]) == 2)
        // Both directions share the 32 labels: the served ids took them all.
        #expect(text.sum("atmo_bytes_received_total", ["route": "relay"]) == 30_000)
        #expect(text.sum("atmo_bytes_received_total", ["route": "relay", "peer": "other"]) == 30_000)
        #expect(text.samples.count < 200, "\(text.samples.count) samples")
        #expect(!text.samples.contains { $0.labels["peer"]?.contains("\n") == true })
    }

    @Test func metricsAnswerThisMachineWithThePrometheusContentType() async throws {
        try await withTemporaryDirectory { directory in
            try await withMeshNode(stateDirectory: directory.sub("a"), folders: []) { a in
                let answer = try #require(await HTTPProbe.get(port: a.port, path: "/metrics"))
                #expect(answer.status == 200)
                let type = answer.headers.first { $0.key.lowercased() == "content-type" }?.value
                #expect(type == "text/plain; version=0.0.4; charset=utf-8")
                let text = try PrometheusText(String(decoding: answer.body, as: UTF8.self))
                #expect(text.types["atmo_bytes_served_total"] == "counter")
                #expect(text.series("atmo_downloads").count == 6, "one gauge per unfinished state")
            }
        }
    }

    static func scrape(_ port: Int) async throws -> PrometheusText {
        let answer = try #require(await HTTPProbe.get(port: port, path: "/metrics"))
        try #require(answer.status == 200, "status \(answer.status)")
        return try PrometheusText(String(decoding: answer.body, as: UTF8.self))
    }
}
