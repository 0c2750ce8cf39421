import AtmoProtocol
import AtmoRelay
import AtmoStore
import Crypto
import Foundation

/// The relay's signature checks with real Ed25519 (swift-crypto): founder proofs over the
/// UTF-8 mesh id (`MeshKeys.verifyFounderProof`) and token signatures over the token's
/// canonical JSON (`MeshToken.signedBytes`). A malformed key or signature is simply invalid.
public struct Ed25519RelayVerifier: RelaySignatureVerifier {
    /// A verifier.
    public init() {}

    public func isValidFounderProof(_ proof: Data, meshID: String, meshPublicKey: Data) -> Bool {
        MeshKeys.verifyFounderProof(proof, meshID: meshID, publicKey: meshPublicKey)
    }

    public func isValidTokenSignature(_ token: MeshToken, meshPublicKey: Data) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: meshPublicKey) else { return false }
        return key.isValidSignature(token.signature, for: token.signedBytes)
    }
}
