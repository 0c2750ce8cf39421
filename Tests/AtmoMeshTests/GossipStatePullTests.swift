import AtmoProtocol
import Testing

@testable import AtmoMesh

struct GossipStatePullTests {
    let fanout = GossipConfiguration().fanout
    let t0 = MeshFixtures.start

    @Test func failedPullMovesToAnotherPeerUntilNoneIsLeftThenRetries() {
        var node = MeshFixtures.node(peers: ["a", "b"])
        let first = try! #require(node.start(now: t0).pulls.first)
        let second = try! #require(node.pullFailed(from: first, now: t0 + 1).pulls.first)
        #expect(Set([first, second]) == ["peer-a", "peer-b"])
        // A failure report about a peer not asked changes nothing.
        #expect(node.pullFailed(from: "peer-zzz", now: t0 + 2).isEmpty)
        #expect(node.pullFailed(from: second, now: t0 + 2).isEmpty)
        #expect(node.isPullPending)
        // A newly discovered peer is asked at once.
        #expect(node.peerDiscovered("peer-c", now: t0 + 3).pulls == ["peer-c"])
        #expect(node.pullFailed(from: "peer-c", now: t0 + 4).isEmpty)
        // Every peer failed: they are asked again after `pullRetryMs`.
        #expect(node.tick(now: t0 + 5_003).pulls.isEmpty)
        #expect(node.tick(now: t0 + 5_004).pulls.count == 1)
    }

    @Test func unreachablePeerFailsThePullInFlight() {
        var node = MeshFixtures.node(peers: ["a", "b"])
        let first = try! #require(node.start(now: t0).pulls.first)
        let actions = node.peerUnreachable(first, now: t0 + 1)
        #expect(!node.peers.contains(first))
        #expect(actions.pulls.count == 1 && actions.pulls != [first])
    }

    @Test func pullAnswerIsLearnedNotRelayedThenTheNodeAnnouncesItself() {
        var node = MeshFixtures.node(peers: ["a"])
        #expect(node.start(now: t0).pulls == ["peer-a"])
        let answer = (1...8).map { MeshFixtures.catalog("n\($0)", at: t0 - 1000) } + [MeshFixtures.catalog("a", at: t0 - 5)]
        let actions = node.receivePull(answer, from: "peer-a", now: t0 + 50)
        #expect(actions.learned.count == 9)
        #expect(!node.isPullPending)
        // No learned catalog is relayed: the only pushes are of its own catalog, to new peers.
        let pushes = actions.pushes
        #expect(pushes.count == fanout)
        #expect(pushes.allSatisfy { $0.catalog.nodeID == "self" && $0.peer != "peer-a" })
        #expect(node.freshCatalogs(now: t0 + 50).count == 10)
        #expect(node.statistics.relayed == 0)
        // A second, unasked answer is still learned but announces nothing.
        let late = node.receivePull([MeshFixtures.catalog("late", at: t0)], from: "peer-n1", now: t0 + 60)
        #expect(late.learned.count == 1 && late.pushes.isEmpty)
    }

    @Test func pullThatNeverHadAPeerWaitsForOneLearnedFromAPush() {
        var node = MeshFixtures.node()
        _ = node.start(now: t0)
        let actions = node.receive(MeshFixtures.catalog("x", at: t0), from: nil, now: t0 + 1)
        #expect(actions.pulls == ["peer-x"])
    }
}
