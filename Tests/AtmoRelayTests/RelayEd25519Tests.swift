import AtmoProtocol
import Crypto
import Foundation
import Testing

@testable import AtmoRelay

/// The founder proof checked with real Ed25519 (swift-crypto), as the node will: shows the
/// injected verifier is all the relay needs. Token signatures need the canonical JSON of
/// AtmoProtocol's token, which the node's verifier will use.
struct Ed25519FounderVerifier: RelaySignatureVerifier {
    func isValidFounderProof(_ proof: Data, meshID: String, meshPublicKey: Data) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: meshPublicKey) else { return false }
        return key.isValidSignature(proof, for: Data(meshID.utf8))
    }

    func isValidTokenSignature(_ token: MeshToken, meshPublicKey: Data) -> Bool { false }
}

@Suite struct RelayEd25519Tests {
    @Test func realFounderProofRegistersAndAForgedOneDoesNot() throws {
        let founder = Curve25519.Signing.PrivateKey()
        let stranger = Curve25519.Signing.PrivateKey()
        let key = founder.publicKey.rawRepresentation
        var relay = RelayState(verifier: Ed25519FounderVerifier())
        let now = Fixture.start

        _ = relay.connected(ConnectionID(1), meshID: Fixture.meshID, now: now)
        let forged = try stranger.signature(for: Data(Fixture.meshID.utf8))
        let refused = relay.received(
            Fixture.register(key: key, proof: forged), on: ConnectionID(1), frameBytes: 200, now: now)
        #expect(errorCodes(to: 1, in: refused) == [.registrationFailed])

        _ = relay.connected(ConnectionID(2), meshID: Fixture.meshID, now: now)
        let proof = try founder.signature(for: Data(Fixture.meshID.utf8))
        let accepted = relay.received(
            Fixture.register(key: key, proof: proof), on: ConnectionID(2), frameBytes: 200, now: now)
        #expect(accepted.contains(.persistMesh(meshID: Fixture.meshID, publicKey: key)))
        #expect(sent(to: 2, in: accepted).first == .meshRegistered)
    }
}
