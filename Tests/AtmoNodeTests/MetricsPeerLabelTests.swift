import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

/// The `peer` label of bytes served over HTTP, whose range requests name no requester.
@Suite(.timeLimit(.minutes(2)))
struct MetricsPeerLabelTests {
    /// Two consumers on the provider's own host (loopback): the address tells neither, the
    /// `model_request` each sends before its range requests does.
    @Test func twoPeersOnOneHostAreToldByTheirModelRequests() async throws {
        try await withTemporaryDirectory { directory in
            let offered = directory.sub("offered")
            let size = 3 * 1024 * 1024 + 7
            _ = try ModelFixtures.writeModel(at: offered + "/delta.gguf", size: size, seed: 44, header: .gguf)
            try await withMeshNode(stateDirectory: directory.sub("a"), folders: [offered]) { a in
                try await withMeshNode(stateDirectory: directory.sub("c"), folders: []) { configuration in
                    configuration.mesh.peers = [a.baseURL]
                } _: { c in
                    try await withMeshNode(stateDirectory: directory.sub("b"), folders: []) { configuration in
                        configuration.mesh.peers = [a.baseURL]
                    } _: { b in
                        // A knows both, on one address.
                        let deadline = ContinuousClock.now + .seconds(60)
                        var knowsBoth = false
                        while !knowsBoth, ContinuousClock.now < deadline {
                            let peers = await HTTPProbe.get(port: a.port, path: "/v1/mesh/peers")
                            let text = peers.map { String(decoding: $0.body, as: UTF8.self) } ?? ""
                            knowsBoth = text.contains(b.node.nodeID) && text.contains(c.node.nodeID)
                            if !knowsBoth { try await Task.sleep(for: .milliseconds(50)) }
                        }
                        try #require(knowsBoth, "A never listed both B and C: the per-peer labels below need it")
                        for await models in b.node.modelUpdates where models.contains(where: { $0.entry.modelID == "delta.gguf" }) { break }
                        let requestID = try b.node.download(modelID: "delta.gguf")
                        for await update in b.node.downloadUpdates where update.requestID == requestID {
                            if case .completed = update.state { break }
                            if case .failed(let reason, _) = update.state { Issue.record("failed: \(reason)"); return }
                        }
                        let provider = try await MetricsTests.scrape(a.port)
                        #expect(provider.sum("atmo_bytes_served_total", ["route": "http", "peer": b.node.nodeID]) >= Double(size))
                        #expect(provider.sum("atmo_bytes_served_total", ["route": "http", "peer": c.node.nodeID]) == 0)
                        #expect(provider.sum("atmo_bytes_served_total", ["route": "http", "peer": "unknown"]) == 0)
                    }
                }
            }
        }
    }
}
