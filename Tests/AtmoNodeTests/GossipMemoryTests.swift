import AtmoNode
import AtmoTesting
import Foundation
import Testing

/// What gossip holds stays within its byte budget under a flood of large catalogs pushed
/// over real sockets (issue 9, item 2), and `GET /v1/catalogs` still answers all of it.
struct GossipMemoryTests {
    static let budget = 4 << 20

    /// A catalog of `origin` weighing about `kilobytes` KiB, with no endpoint (the node
    /// does not gossip back to it).
    static func catalog(_ origin: String, kilobytes: Int, timestamp: Int64) -> String {
        let pad = String(repeating: "x", count: kilobytes * 1024)
        return
            #"{"type":"model_catalog","node_id":"\#(origin)","timestamp":\#(timestamp),"ttl_seconds":300,"models":[{"model_id":"m-\#(origin)","name":"n","type":"llm","format":"gguf","size_bytes":1000,"sha256":"\#(String(repeating: "ab", count: 32))","metadata":{"pad":"\#(pad)"}}]}"#
    }

    @Test func floodOfLargeCatalogsStaysWithinTheBudget() async throws {
        try await withFixtureNode(configure: {
            $0.mesh.gossip.maxLearnedBytes = Self.budget
            $0.mesh.gossip.maxBytesPerOrigin = 1 << 20
            $0.mesh.gossip.maxBytesPerSender = Self.budget
        }) { node, _ in
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            var pushed = 0
            for index in 0..<40 {
                let catalog = Self.catalog("flood-\(index)", kilobytes: 600, timestamp: now)
                let body = #"{"catalogs":["# + catalog + "]}"
                let answer = try await Client.post(node.baseURL + "/v1/catalogs", json: body)
                #expect(answer.status == 200)
                pushed += body.utf8.count
                #expect(node.node.learnedCatalogBytes <= Self.budget, "after push \(index)")
            }
            #expect(pushed > 5 * Self.budget)
            #expect(node.node.learnedCatalogBytes > Self.budget / 2)
            // Larger than one origin may hold: refused, the rest stays.
            let huge = try await Client.post(
                node.baseURL + "/v1/catalogs", json: Self.catalog("huge", kilobytes: 1100, timestamp: now))
            #expect(huge.status == 200)
            #expect(node.node.learnedCatalogBytes <= Self.budget)

            // The pull answer (streamed) holds what is held, and parses.
            let all = try await Client.get(node.baseURL + "/v1/catalogs")
            #expect(all.status == 200)
            let catalogs = try #require(all.json?["catalogs"] as? [[String: Any]])
            let origins = catalogs.compactMap { $0["node_id"] as? String }
            #expect(origins.contains(node.node.nodeID))
            #expect(!origins.contains("huge"))
            #expect(origins.filter { $0.hasPrefix("flood-") }.count >= 3)
            #expect(all.body.count <= Self.budget + 64 * 1024)
        }
    }
}
