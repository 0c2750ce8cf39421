import AtmoProtocol
import Testing

@testable import AtmoMesh

struct GossipStateLifetimeTests {
    let t0 = MeshFixtures.start

    func started(_ configuration: GossipConfiguration = GossipConfiguration()) -> GossipState<String> {
        var node = MeshFixtures.node(peers: ["a", "b", "c"], configuration: configuration)
        _ = node.start(now: t0)
        return node
    }

    @Test func learnedCatalogExpiresAfterItsTTLAndTakesItsPeerAlong() {
        var node = started()
        _ = node.receive(MeshFixtures.catalog("x", at: t0, ttl: 120), from: nil, now: t0)
        #expect(node.freshCatalogs(now: t0 + 119_999).map(\.nodeID) == ["self", "x"])
        #expect(node.freshCatalogs(now: t0 + 120_000).map(\.nodeID) == ["self"])
        #expect(node.tick(now: t0 + 119_999).forgotten.isEmpty)
        #expect(node.tick(now: t0 + 120_000).forgotten == ["x"])
        #expect(node.catalog(of: "x") == nil)
        #expect(!node.peers.contains("peer-x"))
        // A discovered peer stays although a catalog taught it too.
        _ = node.receive(MeshFixtures.catalog("a", at: t0 + 1, ttl: 60), from: nil, now: t0 + 120_000)
        _ = node.tick(now: t0 + 200_000)
        #expect(node.peers.contains("peer-a"))
    }

    @Test func ttlIsClampedWhenComputingExpiry() {
        var node = started()
        _ = node.receive(MeshFixtures.catalog("tiny", at: t0, ttl: 1), from: nil, now: t0)
        _ = node.receive(MeshFixtures.catalog("huge", at: t0, ttl: 10_000_000), from: nil, now: t0)
        #expect(node.tick(now: t0 + 29_999).forgotten.isEmpty)
        #expect(node.tick(now: t0 + 30_000).forgotten == ["tiny"])
        #expect(node.tick(now: t0 + 3_599_999).forgotten.isEmpty)
        #expect(node.tick(now: t0 + 3_600_000).forgotten == ["huge"])
    }

    @Test func expiredTimestampIsStillRememberedSoLateCopiesAreNotRelayedAgain() {
        var node = started()
        let catalog = MeshFixtures.catalog("x", at: t0, ttl: 30)
        #expect(node.receive(catalog, from: nil, now: t0).pushes.filter { $0.catalog.nodeID == "x" }.count == 3)
        _ = node.tick(now: t0 + 30_000)
        #expect(node.receive(catalog, from: nil, now: t0 + 40_000).isEmpty)
        // After the duplicate memory, the timestamp is forgotten too.
        _ = node.tick(now: t0 + 30_000 + 600_000)
        #expect(node.knownTimestamp(of: "x") == nil)
    }

    @Test func catalogFromTheFarFutureIsRefusedNearFutureAccepted() {
        var node = started()
        let far = MeshFixtures.catalog("x", at: t0 + 600_001)
        #expect(node.receive(far, from: nil, now: t0).isEmpty)
        #expect(node.statistics.refused == 1)
        // The origin's genuine catalog still gets through.
        #expect(node.receive(MeshFixtures.catalog("x", at: t0), from: nil, now: t0).learned.count == 1)
        // Within the allowed skew: accepted, and it shadows older ones only until it expires.
        let skewed = MeshFixtures.catalog("y", at: t0 + 600_000, ttl: 300)
        #expect(node.receive(skewed, from: nil, now: t0).learned.count == 1)
        #expect(node.receive(MeshFixtures.catalog("y", at: t0 + 1), from: nil, now: t0 + 1).isEmpty)
        // Expired and forgotten, it no longer shadows the origin's (older) genuine catalogs.
        _ = node.tick(now: t0 + 300_000 + 600_000)
        #expect(node.receive(MeshFixtures.catalog("y", at: t0 + 500_000), from: nil, now: t0 + 900_000).learned.count == 1)
    }

    @Test func goodbyeDropsTheCatalogAndKeepsTheTimestamp() {
        var node = started()
        let catalog = MeshFixtures.catalog("x", at: t0)
        _ = node.receive(catalog, from: nil, now: t0)
        let actions = node.nodeDeparted(nodeID: "x", peer: "peer-x", now: t0 + 5)
        #expect(actions.forgotten == ["x"])
        #expect(!node.peers.contains("peer-x"))
        #expect(node.freshCatalogs(now: t0 + 5).map(\.nodeID) == ["self"])
        #expect(node.receive(catalog, from: nil, now: t0 + 6).isEmpty)
        // It comes back with a newer catalog.
        #expect(node.receive(MeshFixtures.catalog("x", at: t0 + 10), from: nil, now: t0 + 10).learned.count == 1)
    }

    @Test func heldCatalogsAreCappedEvictingTheEarliestToExpire() {
        var node = started(GossipConfiguration(maxCatalogs: 2))
        _ = node.receive(MeshFixtures.catalog("x", at: t0, ttl: 600), from: nil, now: t0)
        _ = node.receive(MeshFixtures.catalog("y", at: t0, ttl: 60), from: nil, now: t0)
        let actions = node.receive(MeshFixtures.catalog("z", at: t0, ttl: 300), from: nil, now: t0)
        #expect(actions.forgotten == ["y"])
        #expect(node.freshCatalogs(now: t0).map(\.nodeID) == ["self", "x", "z"])
        #expect(node.statistics.evicted == 1)
    }

    @Test func heldModelsAreCapped() {
        var node = started(GossipConfiguration(maxModelsHeld: 3))
        let two = [MeshFixtures.entry("m1"), MeshFixtures.entry("m2")]
        _ = node.receive(MeshFixtures.catalog("x", at: t0, models: two), from: nil, now: t0)
        let actions = node.receive(MeshFixtures.catalog("y", at: t0 + 1, models: two), from: nil, now: t0)
        #expect(actions.forgotten == ["x"])
        #expect(node.heldCatalogCount == 1)
        // One catalog bigger than the whole budget is refused outright.
        let four = (1...4).map { MeshFixtures.entry("big\($0)") }
        #expect(node.receive(MeshFixtures.catalog("z", at: t0, models: four), from: nil, now: t0).isEmpty)
        #expect(node.catalog(of: "y") != nil)
    }

    @Test func catalogsForPullCarryRemainingTTLAndNoHops() {
        var node = started()
        _ = node.receive(MeshFixtures.catalog("x", at: t0, ttl: 300, hops: 3), from: nil, now: t0)
        let answer = node.catalogsForPull(now: t0 + 100_500)
        #expect(answer.map(\.nodeID) == ["self", "x"])
        #expect(answer[1].ttlSeconds == 200)
        #expect(answer[1].gossipHops == nil)
        #expect(answer[0].ttlSeconds == 300)
    }
}
