import Foundation
import Testing

@testable import AtmoRelay

@Suite struct RelayRoutingTests {
    @Test func broadcastReachesEveryOtherPeerOfTheMeshOnly() {
        var harness = RelayHarness()
        harness.meshWithPeers(["alice", "bob"])
        harness.open(7, Fixture.join("carol"), meshID: "other-mesh")
        let actions = harness.send(.broadcast(payload: Fixture.payload), on: 2)
        let expected = RelayOutgoingMessage.message(from: "alice", payload: Fixture.payload)
        #expect(sent(to: 1, in: actions) == [expected])
        #expect(sent(to: 3, in: actions) == [expected])
        #expect(sent(to: 2, in: actions).isEmpty)
        #expect(sent(to: 7, in: actions).isEmpty)
        #expect(harness.relay.statistics.messagesRelayed == 2)
        #expect(harness.relay.statistics.bytesRelayed == UInt64(2 * Fixture.payload.count))
    }

    @Test func directReachesOnlyItsTarget() {
        var harness = RelayHarness()
        harness.meshWithPeers(["alice", "bob"])
        let actions = harness.send(.direct(target: "bob", payload: Fixture.payload), on: 2)
        #expect(actions == [.send(ConnectionID(3), .message(from: "alice", payload: Fixture.payload))])
    }

    @Test func directToAnUnknownPeerAnswersNotFound() {
        var harness = RelayHarness()
        harness.meshWithPeers(["alice"])
        let actions = harness.send(.direct(target: "zed", payload: Fixture.payload), on: 2)
        #expect(actions == [.send(ConnectionID(2), .error(code: .peerNotFound, message: "Peer zed not found"))])
    }

    @Test func pingIsAnsweredWithTheTimeInSeconds() {
        var harness = RelayHarness()
        harness.meshWithPeers([])
        let actions = harness.send(.ping, on: 1)
        #expect(actions == [.send(ConnectionID(1), .pong(timestamp: Double(Fixture.start) / 1000))])
    }

    @Test(arguments: [
        RelayIncomingMessage.ping, .broadcast(payload: Fixture.payload),
        .direct(target: "founder", payload: Fixture.payload), .other(type: "model_request"),
    ])
    func messagesBeforeAdmissionAreRefused(message: RelayIncomingMessage) {
        var harness = RelayHarness()
        harness.meshWithPeers([])
        let actions = harness.open(2, message)
        #expect(errorCodes(to: 2, in: actions) == [.notJoined])
        #expect(closure(of: 2, in: actions)?.code == .policyViolation)
        #expect(sent(to: 1, in: actions).isEmpty)
    }

    @Test func bareModelRequestOfAnAdmittedPeerIsDropped() {
        var harness = RelayHarness()
        harness.meshWithPeers(["alice"])
        #expect(harness.send(.other(type: "model_request"), on: 2).isEmpty)
        #expect(harness.relay.statistics.messagesDropped == 1)
    }

    @Test func malformedMessageOfAnAdmittedPeerIsAnErrorNotAClose() {
        var harness = RelayHarness()
        harness.meshWithPeers(["alice"])
        let actions = harness.send(.malformed(code: .invalidMessage, message: "Invalid message: not a JSON object"), on: 2)
        #expect(actions == [.send(ConnectionID(2), .error(code: .invalidMessage, message: "Invalid message: not a JSON object"))])
        #expect(harness.relay.statistics.messagesDropped == 1)
    }

    @Test func malformedFirstMessageIsRefused() {
        var harness = RelayHarness()
        let actions = harness.open(1, .malformed(code: .missingFields, message: "register_mesh is missing a field"))
        #expect(errorCodes(to: 1, in: actions) == [.missingFields])
        #expect(closure(of: 1, in: actions)?.code == .policyViolation)
    }

    @Test func malformedMessagesCountAgainstTheRateLimit() {
        var harness = RelayHarness(configuration: RelayConfiguration(messagesPerSecond: 1, messageBurst: 5))
        harness.meshWithPeers(["alice"])  // the join took one token
        for _ in 0..<4 {
            #expect(closure(of: 2, in: harness.send(.malformed(code: .invalidMessage, message: "bad"), on: 2)) == nil)
        }
        let actions = harness.send(.malformed(code: .invalidMessage, message: "bad"), on: 2)
        #expect(closure(of: 2, in: actions)?.reason.contains("rate limit") == true)
    }

    @Test func joiningTwiceOnOneConnectionIsAnError() {
        var harness = RelayHarness()
        harness.meshWithPeers(["alice"])
        let actions = harness.send(Fixture.join("alice", token: Fixture.token()), on: 2)
        #expect(errorCodes(to: 2, in: actions) == [.alreadyJoined])
        #expect(closure(of: 2, in: actions) == nil)
    }

    @Test func disconnectTellsTheOthersPeerLeft() {
        var harness = RelayHarness()
        harness.meshWithPeers(["alice", "bob"])
        let actions = harness.relay.disconnected(ConnectionID(2))
        #expect(sent(to: 1, in: actions) == [.peerLeft(nodeID: "alice")])
        #expect(sent(to: 3, in: actions) == [.peerLeft(nodeID: "alice")])
        #expect(harness.relay.disconnected(ConnectionID(2)).isEmpty)
    }

    @Test func statisticsCountMeshesPeersAndConnections() {
        var harness = RelayHarness()
        harness.meshWithPeers(["alice"])
        harness.open(5, Fixture.join("carol"), meshID: "open-mesh")
        harness.connect(6)
        let stats = harness.relay.statistics
        #expect(stats.registeredMeshes == 1)
        #expect(stats.activeMeshes == 2)
        #expect(stats.peers == 3)
        #expect(stats.connections == 4)
        _ = harness.relay.disconnected(ConnectionID(5))
        #expect(harness.relay.statistics.activeMeshes == 1)
    }
}
