import Foundation
import Testing

@testable import AtmoRelay

/// The relay's global caps (issue 9, item 4): the bytes of all send queues together, with the
/// slowest peers dropped first, and the number of open meshes.
@Suite struct RelayQueueBudgetTests {
    static let budget = RelayQueueBudget(maxQueuedBytes: 1_000, stalledAfterMs: 1_000)

    static func queue(_ id: UInt64, bytes: Int, stalledMs: Int64 = 0) -> RelayQueueBudget.Queue {
        .init(conn: ConnectionID(id), queuedBytes: bytes, stalledMs: stalledMs)
    }

    @Test func aFrameThatFitsDropsNobody() {
        let queues = [Self.queue(1, bytes: 500, stalledMs: 60_000), Self.queue(2, bytes: 400)]
        #expect(Self.budget.victims(incoming: 100, for: ConnectionID(2), queues: queues, totalQueued: 900).isEmpty)
    }

    @Test func aStalledQueueGoesBeforeALargerOneThatDrains() {
        // 3 drains (a fast peer with a burst), 1 and 2 have not moved for seconds.
        let queues = [Self.queue(1, bytes: 200, stalledMs: 5_000), Self.queue(2, bytes: 300, stalledMs: 2_000), Self.queue(3, bytes: 450, stalledMs: 10)]
        let victims = Self.budget.victims(incoming: 200, for: ConnectionID(3), queues: queues, totalQueued: 950)
        #expect(victims == [ConnectionID(2)], "the stalled queue with the largest backlog, and no more than needed")
        let more = Self.budget.victims(incoming: 400, for: ConnectionID(3), queues: queues, totalQueued: 950)
        #expect(more == [ConnectionID(2), ConnectionID(1)], "every stalled queue before the draining one")
    }

    @Test func withoutStalledQueuesTheLargestBacklogsGoFirst() {
        let queues = [Self.queue(1, bytes: 100), Self.queue(2, bytes: 600), Self.queue(3, bytes: 250)]
        let victims = Self.budget.victims(incoming: 100, for: ConnectionID(1), queues: queues, totalQueued: 950)
        #expect(victims == [ConnectionID(2)])
    }

    @Test func whenTheReceiverIsTheSlowestItIsDroppedAndNothingElse() {
        let queues = [Self.queue(1, bytes: 900, stalledMs: 30_000), Self.queue(2, bytes: 80, stalledMs: 1_500)]
        let victims = Self.budget.victims(incoming: 200, for: ConnectionID(1), queues: queues, totalQueued: 980)
        #expect(victims == [ConnectionID(1)], "its frame is not queued, so the others need not go")
    }

    @Test func aFrameLargerThanTheWholeBudgetDropsItsReceiverLast() {
        let queues = [Self.queue(1, bytes: 0), Self.queue(2, bytes: 100, stalledMs: 2_000)]
        let victims = Self.budget.victims(incoming: 5_000, for: ConnectionID(1), queues: queues, totalQueued: 100)
        #expect(victims == [ConnectionID(2), ConnectionID(1)])
    }

    @Test func equalQueuesAreDroppedOldestConnectionFirst() {
        let queues = [Self.queue(7, bytes: 500, stalledMs: 3_000), Self.queue(4, bytes: 500, stalledMs: 3_000)]
        #expect(Self.budget.victims(incoming: 10, for: ConnectionID(9), queues: queues, totalQueued: 1_000) == [ConnectionID(4)])
    }

    // MARK: - The number of meshes

    @Test func aNewMeshBeyondTheCapIsRefusedWhileOpenOnesStillAdmit() {
        var harness = RelayHarness(configuration: RelayConfiguration(maxMeshes: 2))
        harness.meshWithPeers(["alice"])  // mesh-a
        harness.open(5, Fixture.join("bob"), meshID: "open-b")
        let refused = harness.open(6, Fixture.join("carol"), meshID: "open-c")
        #expect(errorCodes(to: 6, in: refused) == [.relayFull])
        #expect(closure(of: 6, in: refused)?.code == .tryAgainLater)
        let founderOfC = harness.open(7, Fixture.register(meshID: "open-c"), meshID: "open-c")
        #expect(errorCodes(to: 7, in: founderOfC) == [.relayFull])
        #expect(harness.relay.registeredKey(of: "open-c") == nil, "a refused registration is not stored")
        // Meshes already open still take peers; a closed one frees its place.
        let dave = harness.open(8, Fixture.join("dave"), meshID: "open-b")
        #expect(sent(to: 8, in: dave).first == .joined(meshID: "open-b", nodeCount: 2))
        _ = harness.relay.disconnected(ConnectionID(5))
        _ = harness.relay.disconnected(ConnectionID(8))
        let carol = harness.open(9, Fixture.join("carol"), meshID: "open-c")
        #expect(sent(to: 9, in: carol).first == .joined(meshID: "open-c", nodeCount: 1))
    }
}
