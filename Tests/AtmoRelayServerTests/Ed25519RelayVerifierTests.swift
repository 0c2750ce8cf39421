import AtmoProtocol
import AtmoRelay
import AtmoRelayServer
import AtmoStore
import Foundation
import Testing

/// The relay's real signature checks (swift-crypto), with keys made by `MeshKeys`.
@Suite struct Ed25519RelayVerifierTests {
    let verifier = Ed25519RelayVerifier()
    let keys = MeshKeys.generate()
    let stranger = MeshKeys.generate()

    @Test func founderProofsOfTheKeyAreValidAndOthersNot() throws {
        let key = keys.publicKey.rawRepresentation
        #expect(verifier.isValidFounderProof(try keys.founderProof(meshID: keys.meshID), meshID: keys.meshID, meshPublicKey: key))
        #expect(!verifier.isValidFounderProof(try stranger.founderProof(meshID: keys.meshID), meshID: keys.meshID, meshPublicKey: key))
        #expect(!verifier.isValidFounderProof(try keys.founderProof(meshID: "other"), meshID: keys.meshID, meshPublicKey: key))
        #expect(!verifier.isValidFounderProof(Data(), meshID: keys.meshID, meshPublicKey: key))
        #expect(!verifier.isValidFounderProof(try keys.founderProof(meshID: keys.meshID), meshID: keys.meshID, meshPublicKey: Data([1])))
    }

    @Test func tokenSignaturesCoverTheirClaims() throws {
        let key = keys.publicKey.rawRepresentation
        let token = try keys.issueToken(nodeID: "alice", issuerID: "founder", now: 1_767_225_600)
        #expect(verifier.isValidTokenSignature(token, meshPublicKey: key))
        #expect(!verifier.isValidTokenSignature(token, meshPublicKey: stranger.publicKey.rawRepresentation))
        var altered = token
        altered.nodeID = "mallory"
        #expect(!verifier.isValidTokenSignature(altered, meshPublicKey: key))
    }

    @Test func theRelayStateAdmitsARealFounderAndRefusesAForgedOne() throws {
        let key = keys.publicKey.rawRepresentation
        var relay = RelayState(verifier: verifier)
        let now: Int64 = 1_767_225_600_000
        func register(_ conn: UInt64, proof: Data) -> [RelayAction] {
            _ = relay.connected(ConnectionID(conn), meshID: keys.meshID, now: now)
            return relay.received(
                .registerMesh(
                    meshID: keys.meshID, meshPublicKey: key, founderProof: proof, nodeID: "founder", name: "founder",
                    capabilities: []), on: ConnectionID(conn), frameBytes: 200, now: now)
        }
        let forged = register(1, proof: try stranger.founderProof(meshID: keys.meshID))
        #expect(forged.contains(.send(ConnectionID(1), .error(code: .registrationFailed, message: "Invalid founder proof for mesh \(keys.meshID)"))))
        let accepted = register(2, proof: try keys.founderProof(meshID: keys.meshID))
        #expect(accepted.contains(.persistMesh(meshID: keys.meshID, publicKey: key)))
        #expect(accepted.contains(.send(ConnectionID(2), .meshRegistered)))
    }
}
