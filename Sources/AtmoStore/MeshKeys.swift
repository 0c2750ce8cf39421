import AtmoProtocol
import Crypto
import Foundation

/// The outcome of checking a mesh token: accepted, or refused with a reason. A refusal is a
/// normal answer, never a thrown error.
public enum MeshTokenVerification: Sendable, Hashable {
    /// The signature verifies and every claim holds.
    case valid
    /// The token is refused, and why.
    case rejected(MeshTokenRejection)

    /// True for `.valid`.
    public var isValid: Bool { self == .valid }

    /// The rejection, when there is one.
    public var rejection: MeshTokenRejection? {
        if case .rejected(let rejection) = self { return rejection }
        return nil
    }
}

/// A mesh's Ed25519 key pair, held by the founder: it proves the founder's claim on the mesh
/// id to the relay (`founderProof`) and signs admission tokens (`issueToken`). The mesh id
/// derives from the raw public key like a node id: the first 16 hex characters of its SHA-256.
public struct MeshKeys: Sendable {
    /// The private signing key.
    public let privateKey: Curve25519.Signing.PrivateKey
    /// The public key, sent raw (32 bytes, base64) as `mesh_public_key`.
    public var publicKey: Curve25519.Signing.PublicKey { privateKey.publicKey }
    /// The mesh id derived from the public key.
    public var meshID: String { Self.meshID(publicKey: publicKey.rawRepresentation) }

    /// Keys around an existing private key.
    public init(privateKey: Curve25519.Signing.PrivateKey) {
        self.privateKey = privateKey
    }

    /// A new random key pair.
    public static func generate() -> MeshKeys {
        MeshKeys(privateKey: Curve25519.Signing.PrivateKey())
    }

    /// The mesh id of a raw Ed25519 public key: 16 lowercase hex characters of SHA-256.
    public static func meshID(publicKey: Data) -> String {
        String(SHA256.hash(data: publicKey).hexString.prefix(16))
    }

    /// The `founder_proof`: this key's signature over the UTF-8 bytes of `meshID`.
    public func founderProof(meshID: String) throws -> Data {
        try privateKey.signature(for: Data(meshID.utf8))
    }

    /// True when `proof` is a signature by the raw Ed25519 `publicKey` over the UTF-8
    /// `meshID`. False for a malformed key or signature.
    public static func verifyFounderProof(_ proof: Data, meshID: String, publicKey: Data) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(proof, for: Data(meshID.utf8))
    }

    /// A signed token admitting `nodeID` (nil = any node) to this mesh from `now` for
    /// `lifetime` seconds, issued by the node `issuerID`. The lifetime must be positive and
    /// at most `RelayLimits.maxTokenLifetime` (7 days).
    public func issueToken(
        nodeID: String?, issuerID: String, lifetime: Int64 = RelayLimits.defaultTokenLifetime,
        capabilities: [String] = MeshToken.defaultCapabilities, now: Int64
    ) throws -> MeshToken {
        guard lifetime > 0, lifetime <= RelayLimits.maxTokenLifetime else {
            throw StoreError(.conflict, "token lifetime must be 1-\(RelayLimits.maxTokenLifetime) seconds, not \(lifetime)")
        }
        var token = MeshToken(
            meshID: meshID, nodeID: nodeID, issuedAt: now, expiresAt: now + lifetime, capabilities: capabilities,
            issuerID: issuerID, nonce: MeshToken.randomNonce())
        token.signature = try privateKey.signature(for: token.signedBytes)
        return token
    }

    /// Checks `token` for joining this mesh as `nodeID` at `now` (epoch seconds).
    public func verify(token: MeshToken, nodeID: String? = nil, now: Int64) -> MeshTokenVerification {
        Self.verify(token: token, meshID: meshID, meshPublicKey: publicKey.rawRepresentation, nodeID: nodeID, now: now)
    }

    /// Checks `token` for joining `meshID` (the relay URL's mesh, registered with the raw
    /// Ed25519 `meshPublicKey`) as `nodeID` at `now`: the signature over
    /// `MeshToken.signedBytes` first, then the mesh, the node and the times
    /// (`MeshToken.claimsRejection`).
    public static func verify(
        token: MeshToken, meshID: String, meshPublicKey: Data, nodeID: String? = nil, now: Int64,
        maxLifetime: Int64 = RelayLimits.maxTokenLifetime, clockSkew: Int64 = RelayLimits.tokenClockSkew
    ) -> MeshTokenVerification {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: meshPublicKey) else {
            return .rejected(MeshTokenRejection(.badKey, "the mesh public key is not a raw Ed25519 key"))
        }
        guard key.isValidSignature(token.signature, for: token.signedBytes) else {
            return .rejected(MeshTokenRejection(.badSignature, "the signature does not match the mesh key"))
        }
        if let rejection = token.claimsRejection(
            meshID: meshID, nodeID: nodeID, now: now, maxLifetime: maxLifetime, clockSkew: clockSkew)
        {
            return .rejected(rejection)
        }
        return .valid
    }
}

extension MeshKeys {
    /// Loads the raw private key at `path`. Throws `notFound` when there is none and
    /// `corrupt` when the file is not a 32-byte Ed25519 key.
    public static func load(path: String) throws(StoreError) -> MeshKeys {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StoreError(.notFound, "no mesh key at \(path)")
        }
        do {
            return MeshKeys(privateKey: try Curve25519.Signing.PrivateKey(rawRepresentation: data))
        } catch {
            throw StoreError(.corrupt, "\(path) is not a valid Ed25519 mesh key")
        }
    }

    /// Saves the raw private key at `path`, owner-only (0600), atomically and durably;
    /// refuses (`conflict`) to replace an existing key, which would orphan the mesh.
    public func save(path: String) throws(StoreError) {
        do {
            try FileIO.createNewFile(privateKey.rawRepresentation, at: path, mode: 0o600)
        } catch where error.code == .conflict {
            throw StoreError(.conflict, "a mesh key already exists at \(path)")
        }
    }

    /// Loads the key at `path`, creating and saving a new one on first use.
    public static func loadOrCreate(path: String) throws(StoreError) -> MeshKeys {
        do {
            return try load(path: path)
        } catch  where error.code == .notFound {
            let keys = generate()
            do {
                try keys.save(path: path)
                return keys
            } catch  where error.code == .conflict {
                return try load(path: path)  // another process created it meanwhile: its key wins
            }
        }
    }
}
