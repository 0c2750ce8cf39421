import Foundation
import Testing

@testable import AtmoRelay

@Suite struct RelayJoinTests {
    @Test func unregisteredMeshAdmitsAnyone() {
        var harness = RelayHarness()
        let actions = harness.open(1, Fixture.join("alice"))
        #expect(sent(to: 1, in: actions) == [.joined(meshID: Fixture.meshID, nodeCount: 1), .peers([])])
        #expect(harness.relay.statistics.peers == 1)
    }

    @Test func registeredMeshRequiresAToken() {
        var harness = RelayHarness()
        harness.open(1, Fixture.register())
        let actions = harness.open(2, Fixture.join("alice"))
        #expect(errorCodes(to: 2, in: actions) == [.tokenRequired])
        #expect(closure(of: 2, in: actions)?.code == .policyViolation)
        #expect(sent(to: 1, in: actions).isEmpty)
    }

    @Test func validTokenAdmitsAndAnnounces() {
        var harness = RelayHarness()
        harness.open(1, Fixture.register())
        harness.advance(seconds: 5)
        let actions = harness.open(2, Fixture.join("alice", token: Fixture.token(nodeID: "alice")))
        let alice = RelayPeerInfo(
            nodeID: "alice", name: "alice name", capabilities: ["participant"], isFounder: false, joinedAtMs: harness.now)
        #expect(sent(to: 1, in: actions) == [.peerJoined(alice)])
        let founder = harness.relay.peers(of: Fixture.meshID).filter(\.isFounder)
        #expect(sent(to: 2, in: actions) == [.joined(meshID: Fixture.meshID, nodeCount: 2), .peers(founder)])
    }

    /// Defect of the older relay: the token's mesh_id was not compared with the URL's.
    @Test func tokenForAnotherMeshIsRefused() {
        var harness = RelayHarness()
        harness.open(1, Fixture.register())
        harness.open(2, Fixture.register(meshID: "mesh-b"), meshID: "mesh-b")
        // Signed by the right key, but for mesh-b (both meshes share the key in this test).
        let actions = harness.open(3, Fixture.join("alice", token: Fixture.token(meshID: "mesh-b")))
        #expect(errorCodes(to: 3, in: actions) == [.tokenInvalid])
        #expect(closure(of: 3, in: actions)?.code == .policyViolation)
    }

    @Test func expiredTokenIsRefused() {
        var harness = RelayHarness()
        harness.open(1, Fixture.register())
        harness.advance(seconds: 3_600)
        let actions = harness.open(2, Fixture.join("alice", token: Fixture.token(lifetime: 3_600)))
        #expect(errorCodes(to: 2, in: actions) == [.tokenInvalid])
        #expect(closure(of: 2, in: actions) != nil)
    }

    @Test func unreadableTokenIsInvalidNotMissing() {
        var harness = RelayHarness()
        harness.open(1, Fixture.register())
        let join = RelayIncomingMessage.join(
            nodeID: "alice", token: nil, capabilities: [], name: "alice", tokenProblem: "token: not base64url")
        let actions = harness.open(2, join)
        #expect(errorCodes(to: 2, in: actions) == [.tokenInvalid])
        #expect(closure(of: 2, in: actions)?.code == .policyViolation)
        // An open (unregistered) mesh does not look at tokens at all.
        let open = harness.open(3, join, meshID: "open-mesh")
        #expect(sent(to: 3, in: open).first == .joined(meshID: "open-mesh", nodeCount: 1))
    }

    @Test func tokenForAnotherNodeIsRefused() {
        var harness = RelayHarness()
        harness.open(1, Fixture.register())
        let actions = harness.open(2, Fixture.join("mallory", token: Fixture.token(nodeID: "alice")))
        #expect(errorCodes(to: 2, in: actions) == [.tokenInvalid])
    }

    @Test func tokenSignedByAnotherKeyIsRefused() {
        var harness = RelayHarness()
        harness.open(1, Fixture.register())
        let actions = harness.open(2, Fixture.join("alice", token: Fixture.token(signedWith: Fixture.strangerKey)))
        #expect(errorCodes(to: 2, in: actions) == [.tokenInvalid])
    }

    @Test func tokenLivingLongerThanSevenDaysIsRefused() {
        var harness = RelayHarness()
        harness.open(1, Fixture.register())
        let actions = harness.open(2, Fixture.join("alice", token: Fixture.token(lifetime: 8 * 86_400)))
        #expect(errorCodes(to: 2, in: actions) == [.tokenInvalid])
    }

    @Test func newerConnectionOfTheSameNodeReplacesTheOlder() {
        var harness = RelayHarness()
        harness.meshWithPeers(["alice"])
        let actions = harness.open(9, Fixture.join("alice", token: Fixture.token()))
        #expect(closure(of: 2, in: actions)?.code == .normalClosure)
        #expect(harness.relay.nodeID(of: ConnectionID(9)) == "alice")
        #expect(harness.relay.statistics.peers == 2)
        // The old connection's late disconnect does not tell anyone that alice left.
        #expect(harness.relay.disconnected(ConnectionID(2)).isEmpty)
    }

    @Test func fullMeshRefusesANewNodeButNotAReplacement() {
        var harness = RelayHarness(configuration: RelayConfiguration(maxPeersPerMesh: 2))
        harness.meshWithPeers(["alice"])
        let refused = harness.open(5, Fixture.join("bob", token: Fixture.token()))
        #expect(errorCodes(to: 5, in: refused) == [.meshFull])
        #expect(closure(of: 5, in: refused)?.code == .tryAgainLater)
        let replacement = harness.open(6, Fixture.join("alice", token: Fixture.token()))
        #expect(sent(to: 6, in: replacement).first == .joined(meshID: Fixture.meshID, nodeCount: 2))
    }
}
