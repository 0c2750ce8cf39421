import AtmoNode
import AtmoTesting
import Foundation
import Testing

/// A peer catalog refused for its size is counted in `GET /metrics`
/// (`atmo_gossip_catalogs_refused_total{reason}`, hostile dec07h F10: it was dropped with no
/// trace anywhere).
struct GossipRefusalMetricTests {
    @Test func aCatalogOverTheOriginBudgetIsCountedByReason() async throws {
        try await withFixtureNode(configure: { $0.mesh.gossip.maxBytesPerOrigin = 1 << 20 }) { node, _ in
            let before = try await MetricsTests.scrape(node.port)
            #expect(before.types["atmo_gossip_catalogs_refused_total"] == "counter")
            #expect(before.sum("atmo_gossip_catalogs_refused_total") == 0)
            #expect(before.series("atmo_gossip_catalogs_refused_total").count == 4, "every reason, from 0")

            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let huge = GossipMemoryTests.catalog("huge", kilobytes: 1100, timestamp: now)
            let answer = try await Client.post(node.baseURL + "/v1/catalogs", json: huge)
            #expect(answer.status == 200)

            let after = try await MetricsTests.scrape(node.port)
            #expect(after.sum("atmo_gossip_catalogs_refused_total", ["reason": "over_origin_budget"]) == 1)
            #expect(after.sum("atmo_gossip_catalogs_refused_total") == 1)
        }
    }
}
