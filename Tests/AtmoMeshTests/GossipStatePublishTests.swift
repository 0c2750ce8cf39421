import AtmoProtocol
import Testing

@testable import AtmoMesh

struct GossipStatePublishTests {
    let fanout = GossipConfiguration().fanout
    let t0 = MeshFixtures.start
    let tenPeers = (1...10).map { "n\($0)" }

    @Test func startPushesOwnCatalogToFanoutPeersAndPullsOne() {
        var node = MeshFixtures.node(peers: tenPeers)
        let actions = node.start(now: t0)
        let pushes = actions.pushes
        #expect(pushes.count == fanout)
        #expect(Set(pushes.map(\.peer)).count == fanout)
        #expect(pushes.allSatisfy { $0.catalog.nodeID == "self" && $0.catalog.gossipHops == 0 })
        #expect(pushes.allSatisfy { $0.catalog.timestamp == t0 && $0.catalog.ttlSeconds == 300 })
        #expect(actions.pulls.count == 1)
        #expect(node.isPullPending)
        #expect(node.start(now: t0 + 1).isEmpty)
    }

    @Test func nodeWithoutPeersPullsAndIntroducesItselfToTheFirstPeerFound() {
        var node = MeshFixtures.node()
        #expect(node.start(now: t0).isEmpty)
        let actions = node.peerDiscovered("peer-a", now: t0 + 5)
        #expect(actions.pushes.map(\.peer) == ["peer-a"])
        #expect(actions.pulls == ["peer-a"])
        // Rediscovering a known peer does nothing.
        #expect(node.peerDiscovered("peer-a", now: t0 + 6).isEmpty)
    }

    @Test func peersDiscoveredBeforeStartAreOnlyRemembered() {
        var node = MeshFixtures.node()
        #expect(node.peerDiscovered("peer-a", now: t0).isEmpty)
        #expect(node.peers == ["peer-a"])
        // Its own address is never a peer.
        #expect(node.peerDiscovered("peer-self", now: t0).isEmpty)
        #expect(node.peers == ["peer-a"])
    }

    @Test func inventoryChangePublishesWithAStrictlyNewerTimestamp() {
        var node = MeshFixtures.node(peers: tenPeers)
        _ = node.start(now: t0)
        let unchanged = node.inventoryChanged(node.ownCatalog.models, now: t0)
        #expect(unchanged.isEmpty)
        let models = node.ownCatalog.models + [MeshFixtures.entry("new-model", sha: "b")]
        let pushes = node.inventoryChanged(models, now: t0).pushes
        #expect(pushes.count == fanout)
        // Same millisecond as the start: the timestamp still moves forward.
        #expect(pushes.allSatisfy { $0.catalog.timestamp == t0 + 1 && $0.catalog.models == models })
        #expect(node.ownCatalog.models == models)
    }

    @Test func inventoryChangeBeforeStartIsRememberedNotSent() {
        var node = MeshFixtures.node(peers: tenPeers)
        let models = [MeshFixtures.entry("other", sha: "c")]
        #expect(node.inventoryChanged(models, now: t0).isEmpty)
        let pushes = node.start(now: t0).pushes
        #expect(pushes.first?.catalog.models == models)
    }

    @Test func tickRepublishesEveryInterval() {
        var node = MeshFixtures.node(peers: tenPeers)
        _ = node.start(now: t0)
        #expect(node.tick(now: t0 + 299_999).pushes.isEmpty)
        let pushes = node.tick(now: t0 + 300_000).pushes
        #expect(pushes.count == fanout && pushes.allSatisfy { $0.catalog.timestamp == t0 + 300_000 })
        #expect(node.statistics.published == 2)
        #expect(node.tick(now: t0 + 300_001).pushes.isEmpty)
    }

    @Test func endpointsChangePublishes() {
        var node = MeshFixtures.node(peers: tenPeers)
        _ = node.start(now: t0)
        let endpoints = ModelCatalog.TransferEndpoints(http: "http://10.0.0.9:14750", websocket: true)
        let pushes = node.endpointsChanged(endpoints, now: t0 + 10).pushes
        #expect(pushes.count == fanout && pushes.allSatisfy { $0.catalog.transferEndpoints == endpoints })
        #expect(node.endpointsChanged(endpoints, now: t0 + 20).isEmpty)
    }

    @Test func sameSeedSameChoicesOtherSeedOtherChoices() {
        func firstTargets(seed: UInt64) -> [String] {
            var node = MeshFixtures.node(peers: (1...40).map { "n\($0)" }, seed: seed)
            return node.start(now: t0).pushes.map(\.peer)
        }
        #expect(firstTargets(seed: 1) == firstTargets(seed: 1))
        #expect(firstTargets(seed: 1) != firstTargets(seed: 2))
    }

    @Test func fewerPeersThanFanoutGetOnePushEach() {
        var node = MeshFixtures.node(peers: ["a", "b"])
        let peers = node.start(now: t0).pushes.map(\.peer)
        #expect(peers.sorted() == ["peer-a", "peer-b"])
    }
}
