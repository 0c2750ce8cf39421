import AtmoProtocol
import AtmoStore
import Foundation
import Testing

@testable import AtmoNode

/// The founder's `register_mesh` is valid on both relays (issue 9, item 11).
@Suite struct RelayIntroductionTests {
    /// The older Python relay checks `founder_proof` against `node_public_key` when it is
    /// present, `atmo relay` against `mesh_public_key`: the proof must verify under both.
    @Test func theFoundersProofVerifiesAgainstBothKeysItSends() throws {
        let keys = MeshKeys.generate()
        let register = try RelayIntroduction.founderHello(keys: keys, nodeID: "node-1", nodeName: "studio")
        #expect(register.meshPublicKey == keys.publicKey.rawRepresentation)
        let olderRelayKey = try #require(register.nodePublicKey, "an older Python founder sends node_public_key")
        #expect(MeshKeys.verifyFounderProof(register.founderProof, meshID: register.meshID, publicKey: olderRelayKey))
        #expect(MeshKeys.verifyFounderProof(register.founderProof, meshID: register.meshID, publicKey: register.meshPublicKey))
        #expect(register.nodeID == "node-1" && register.meshID == keys.meshID)
    }
}
