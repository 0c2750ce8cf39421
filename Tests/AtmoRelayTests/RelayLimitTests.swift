import Foundation
import Testing

@testable import AtmoRelay

@Suite struct RelayLimitTests {
    @Test func firstMessageMustArriveWithinThirtySeconds() {
        var harness = RelayHarness()
        harness.connect(1)
        harness.advance(seconds: 29)
        #expect(harness.relay.tick(now: harness.now).isEmpty)
        harness.advance(seconds: 1)
        let actions = harness.relay.tick(now: harness.now)
        #expect(closure(of: 1, in: actions)?.code == .policyViolation)
        #expect(harness.relay.statistics.connections == 0)
    }

    @Test func idlePeersAreReapedAndTheOthersTold() {
        var harness = RelayHarness()
        harness.meshWithPeers(["alice"])
        harness.advance(seconds: 100)
        harness.send(.ping, on: 1)
        harness.advance(seconds: 20)
        let actions = harness.relay.tick(now: harness.now)
        #expect(closure(of: 2, in: actions)?.reason.contains("idle") == true)
        #expect(closure(of: 1, in: actions) == nil)
        #expect(sent(to: 1, in: actions) == [.peerLeft(nodeID: "alice")])
    }

    @Test func oversizedFrameClosesWithMessageTooBig() {
        var harness = RelayHarness(configuration: RelayConfiguration(maxFrameBytes: 1_000))
        harness.meshWithPeers(["alice"])
        let actions = harness.send(.broadcast(payload: Fixture.payload), on: 2, frameBytes: 1_001)
        #expect(closure(of: 2, in: actions)?.code == .messageTooBig)
        #expect(sent(to: 1, in: actions) == [.peerLeft(nodeID: "alice")])
    }

    @Test func rateLimitAllowsTheBurstThenCloses() {
        var harness = RelayHarness(configuration: RelayConfiguration(messagesPerSecond: 10, messageBurst: 20))
        harness.meshWithPeers(["alice"])  // the join took one token of alice's bucket
        for _ in 0..<19 {
            #expect(closure(of: 2, in: harness.send(.ping, on: 2)) == nil)
        }
        let actions = harness.send(.ping, on: 2)
        #expect(closure(of: 2, in: actions)?.code == .policyViolation)
        #expect(closure(of: 2, in: actions)?.reason.contains("rate limit") == true)
    }

    @Test func rateLimitRefillsOverTime() {
        var harness = RelayHarness(configuration: RelayConfiguration(messagesPerSecond: 10, messageBurst: 20))
        harness.meshWithPeers(["alice"])
        for _ in 0..<19 { harness.send(.ping, on: 2) }
        harness.advance(seconds: 0.5)  // five tokens back
        for _ in 0..<5 {
            #expect(closure(of: 2, in: harness.send(.ping, on: 2)) == nil)
        }
        #expect(closure(of: 2, in: harness.send(.ping, on: 2)) != nil)
    }

    /// Defect of the older relay: a slow peer stalled every broadcast.
    @Test func slowPeerIsDroppedWithoutAffectingTheOthers() {
        var harness = RelayHarness()
        harness.meshWithPeers(["alice", "bob", "slow"])
        let dropped = harness.relay.sendQueueFull(ConnectionID(4))
        #expect(closure(of: 4, in: dropped)?.code == .tryAgainLater)
        #expect(closure(of: 4, in: dropped)?.reason.contains("send queue full") == true)
        #expect(sent(to: 2, in: dropped) == [.peerLeft(nodeID: "slow")])
        #expect(sent(to: 3, in: dropped) == [.peerLeft(nodeID: "slow")])
        let actions = harness.send(.broadcast(payload: Fixture.payload), on: 2)
        let expected = RelayOutgoingMessage.message(from: "alice", payload: Fixture.payload)
        #expect(sent(to: 1, in: actions) == [expected])
        #expect(sent(to: 3, in: actions) == [expected])
        #expect(sent(to: 4, in: actions).isEmpty)
        #expect(harness.relay.sendQueueFull(ConnectionID(4)).isEmpty)
    }
}
