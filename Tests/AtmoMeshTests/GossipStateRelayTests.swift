import AtmoProtocol
import Testing

@testable import AtmoMesh

struct GossipStateRelayTests {
    let fanout = GossipConfiguration().fanout
    let t0 = MeshFixtures.start
    let peers = (1...10).map { "n\($0)" }

    func started(_ configuration: GossipConfiguration = GossipConfiguration()) -> GossipState<String> {
        var node = MeshFixtures.node(peers: peers + ["origin"], configuration: configuration)
        _ = node.start(now: t0)
        return node
    }

    @Test func newCatalogIsLearnedAndRelayedOnceWithHopsIncremented() {
        var node = started()
        let catalog = MeshFixtures.catalog("origin", at: t0, models: [MeshFixtures.entry("m")], hops: 2)
        let actions = node.receive(catalog, from: "peer-n1", now: t0 + 10)
        #expect(actions.learned.map(\.nodeID) == ["origin"])
        #expect(actions.learned.first?.gossipHops == nil)
        let pushes = actions.pushes
        #expect(pushes.count == fanout)
        #expect(Set(pushes.map(\.peer)).count == fanout)
        #expect(!pushes.contains { $0.peer == "peer-n1" || $0.peer == "peer-origin" })
        #expect(pushes.allSatisfy { $0.catalog.gossipHops == 3 && $0.catalog.timestamp == t0 })
        #expect(node.statistics.relayed == 1)

        // The same (origin, timestamp) again, from anyone: nothing.
        #expect(node.receive(catalog, from: "peer-n2", now: t0 + 11).isEmpty)
        #expect(node.receive(catalog.withGossipHops(0), from: nil, now: t0 + 12).isEmpty)
        // Older: nothing.
        #expect(node.receive(MeshFixtures.catalog("origin", at: t0 - 1), from: nil, now: t0 + 13).isEmpty)
        #expect(node.statistics.duplicates == 3)
        // Newer: learned and relayed again.
        // Newer: learned and relayed again (and, straight from its origin, answered with
        // this node's own catalog).
        let newer = node.receive(MeshFixtures.catalog("origin", at: t0 + 1), from: nil, now: t0 + 14)
        #expect(newer.learned.count == 1 && newer.pushes.filter { $0.catalog.nodeID == "origin" }.count == fanout)
    }

    @Test func copiesWithoutHopCountAreTreatedAsFromTheOrigin() {
        var node = started()
        let actions = node.receive(MeshFixtures.catalog("origin", at: t0), from: nil, now: t0)
        let pushes = actions.pushes
        #expect(pushes.count == fanout && pushes.allSatisfy { $0.catalog.gossipHops == 1 })
    }

    @Test func hopLimitStopsTheRelayButNotTheLearning() {
        var node = started(GossipConfiguration(hopLimit: 4))
        let lastRelay = node.receive(MeshFixtures.catalog("a", at: t0, hops: 2), from: nil, now: t0)
        #expect(lastRelay.pushes.allSatisfy { $0.catalog.gossipHops == 3 })
        #expect(lastRelay.pushes.count == fanout)
        let atLimit = node.receive(MeshFixtures.catalog("b", at: t0, hops: 3), from: nil, now: t0)
        #expect(atLimit.learned.count == 1)
        #expect(atLimit.pushes.isEmpty)
        let hostile = node.receive(MeshFixtures.catalog("c", at: t0, hops: 1_000), from: nil, now: t0)
        #expect(hostile.learned.count == 1)
        #expect(hostile.pushes.isEmpty)
    }

    @Test func ownCatalogComingBackIsRefused() {
        var node = started()
        let echo = MeshFixtures.catalog("self", at: t0 + 5)
        #expect(node.receive(echo, from: "peer-n1", now: t0 + 10).isEmpty)
        #expect(node.statistics.refused == 1)
    }

    @Test func originIsLearnedAsAPeer() {
        var node = started()
        _ = node.receive(MeshFixtures.catalog("far", at: t0), from: "peer-n1", now: t0)
        #expect(node.peers.contains("peer-far"))
        // A catalog without an HTTP endpoint teaches no peer.
        var hidden = MeshFixtures.catalog("hidden", at: t0)
        hidden.transferEndpoints = .init(http: nil)
        _ = node.receive(hidden, from: nil, now: t0)
        #expect(!node.peers.contains("peer-hidden"))
        #expect(node.catalog(of: "hidden") != nil)
    }

    @Test func fullViewKeepsDiscoveredPeersAndSamplesLearnedOnes() {
        var node = MeshFixtures.node(peers: ["a"], configuration: GossipConfiguration(maxPeers: 3))
        _ = node.start(now: t0)
        let origins = (1...60).map { "o\($0)" }
        for name in origins { _ = node.receive(MeshFixtures.catalog(name, at: t0), from: nil, now: t0) }
        #expect(node.peers.count == 3)
        #expect(node.peers.contains("peer-a"))
        // Later origins replaced earlier ones (reservoir sampling), so the view does not
        // freeze on the first two peers learned.
        #expect(node.peers.contains { !["peer-a", "peer-o1", "peer-o2"].contains($0) })
        // A discovered peer takes the place of a learned one.
        _ = node.peerDiscovered("peer-b", now: t0)
        #expect(node.peers.count == 3)
        #expect(node.peers.contains("peer-a") && node.peers.contains("peer-b"))
    }

    @Test func pushFailureDropsThePeerAndSubstitutesAnother() {
        var node = started()
        let catalog = MeshFixtures.catalog("origin", at: t0, hops: 1)
        let actions = node.pushFailed(catalog, to: "peer-n3", now: t0)
        #expect(!node.peers.contains("peer-n3"))
        let pushes = actions.pushes
        #expect(pushes.count == 1)
        #expect(pushes.first?.catalog == catalog)
        #expect(pushes.first.map { $0.peer != "peer-n3" && $0.peer != "peer-origin" } == true)
    }

    @Test func pushFailureWithNoOtherPeerEnds() {
        var node = MeshFixtures.node(peers: ["a"])
        _ = node.start(now: t0)
        let actions = node.pushFailed(MeshFixtures.catalog("x", at: t0), to: "peer-a", now: t0)
        #expect(actions.pushes.isEmpty)
        #expect(node.peers.isEmpty)
    }
}
