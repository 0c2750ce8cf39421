import Foundation
import Testing

@testable import AtmoRelay

@Suite struct RelayRegistrationTests {
    @Test func founderRegistersPersistsAndIsAdmitted() {
        var harness = RelayHarness()
        harness.connect(1)
        let actions = harness.send(Fixture.register(), on: 1)
        #expect(actions.contains(.persistMesh(meshID: Fixture.meshID, publicKey: Fixture.founderKey)))
        #expect(
            sent(to: 1, in: actions) == [.meshRegistered, .joined(meshID: Fixture.meshID, nodeCount: 1), .peers([])])
        #expect(harness.relay.registeredKey(of: Fixture.meshID) == Fixture.founderKey)
        #expect(harness.relay.peers(of: Fixture.meshID).map(\.isFounder) == [true])
    }

    @Test func registrationWithoutValidProofIsRefused() {
        var harness = RelayHarness()
        let actions = harness.open(1, Fixture.register(proof: Data("forged".utf8)))
        #expect(errorCodes(to: 1, in: actions) == [.registrationFailed])
        #expect(closure(of: 1, in: actions)?.code == .policyViolation)
        #expect(harness.relay.registeredKey(of: Fixture.meshID) == nil)
        #expect(!actions.contains { if case .persistMesh = $0 { true } else { false } })
    }

    /// Defect of the older relay: a founder could rejoin a registered mesh with no proof.
    @Test func founderReRegisteringWithoutProofIsRefused() {
        var harness = RelayHarness()
        harness.open(1, Fixture.register())
        let actions = harness.open(2, Fixture.register(proof: Data()))
        #expect(errorCodes(to: 2, in: actions) == [.registrationFailed])
        #expect(closure(of: 2, in: actions)?.code == .policyViolation)
        #expect(harness.relay.nodeID(of: ConnectionID(1)) == "founder")
    }

    @Test func founderReRegisteringWithProofIsAdmittedWithoutNewPersist() {
        var harness = RelayHarness()
        harness.open(1, Fixture.register())
        let actions = harness.open(2, Fixture.register())
        #expect(sent(to: 2, in: actions).first == .meshRegistered)
        #expect(!actions.contains { if case .persistMesh = $0 { true } else { false } })
        #expect(closure(of: 1, in: actions)?.code == .normalClosure)
        #expect(harness.relay.nodeID(of: ConnectionID(2)) == "founder")
    }

    @Test func anotherKeyForARegisteredMeshIsRefused() {
        var harness = RelayHarness()
        harness.open(1, Fixture.register())
        let actions = harness.open(2, Fixture.register("intruder", key: Fixture.strangerKey))
        #expect(errorCodes(to: 2, in: actions) == [.registrationFailed])
        #expect(closure(of: 2, in: actions) != nil)
        #expect(harness.relay.registeredKey(of: Fixture.meshID) == Fixture.founderKey)
    }

    @Test func registrationForAnotherMeshThanTheURLIsRefused() {
        var harness = RelayHarness()
        let actions = harness.open(1, Fixture.register(meshID: "mesh-b"), meshID: Fixture.meshID)
        #expect(errorCodes(to: 1, in: actions) == [.registrationFailed])
        #expect(harness.relay.registeredKey(of: "mesh-b") == nil)
        #expect(harness.relay.registeredKey(of: Fixture.meshID) == nil)
    }

    @Test func registrationThatCannotBeStoredIsForgottenAndItsMeshClosed() {
        var harness = RelayHarness()
        harness.meshWithPeers(["alice"])
        harness.open(9, Fixture.join("carol"), meshID: "open-mesh")
        let actions = harness.relay.registrationNotPersisted(meshID: Fixture.meshID)
        #expect(harness.relay.registeredKey(of: Fixture.meshID) == nil)
        for conn: UInt64 in [1, 2] {
            #expect(errorCodes(to: conn, in: actions) == [.registrationFailed])
            #expect(closure(of: conn, in: actions)?.code == .internalError)
        }
        #expect(sent(to: 9, in: actions).isEmpty)
        #expect(harness.relay.statistics.peers == 1)
        // A second report changes nothing; the founder can register again (and is persisted again).
        #expect(harness.relay.registrationNotPersisted(meshID: Fixture.meshID).isEmpty)
        let again = harness.open(3, Fixture.register())
        #expect(again.contains(.persistMesh(meshID: Fixture.meshID, publicKey: Fixture.founderKey)))
    }

    /// Registrations survive a restart: a stranger still cannot take the mesh over.
    @Test func restartWithPersistedRegistrationRefusesAStranger() {
        var harness = RelayHarness(registeredMeshes: [Fixture.meshID: Fixture.founderKey])
        let stranger = harness.open(1, Fixture.register("stranger", key: Fixture.strangerKey))
        #expect(errorCodes(to: 1, in: stranger) == [.registrationFailed])
        let openJoin = harness.open(2, Fixture.join("stranger"))
        #expect(errorCodes(to: 2, in: openJoin) == [.tokenRequired])
        let founder = harness.open(3, Fixture.register())
        #expect(sent(to: 3, in: founder).first == .meshRegistered)
        #expect(harness.relay.statistics.registeredMeshes == 1)
    }
}
