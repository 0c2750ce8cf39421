import Crypto
import Foundation

/// The node's persistent Ed25519 key pair and the id derived from it: the first 16 hex
/// characters of SHA-256 of the raw public key (the form other Atmosphere nodes use).
public struct NodeIdentity: Sendable {
    public let privateKey: Curve25519.Signing.PrivateKey
    public var publicKey: Curve25519.Signing.PublicKey { privateKey.publicKey }
    public var nodeID: String { Self.nodeID(publicKey: publicKey.rawRepresentation) }

    public init(privateKey: Curve25519.Signing.PrivateKey) {
        self.privateKey = privateKey
    }

    public static func nodeID(publicKey: Data) -> String {
        String(SHA256.hash(data: publicKey).hexString.prefix(16))
    }

    /// Loads `{directory}/node.key`, creating it (owner-only, 0600) on first start.
    public static func loadOrCreate(directory: String) throws(StoreError) -> NodeIdentity {
        let path = directory + "/node.key"
        if let data = FileManager.default.contents(atPath: path) {
            do {
                return NodeIdentity(privateKey: try Curve25519.Signing.PrivateKey(rawRepresentation: data))
            } catch {
                throw StoreError(.corrupt, "\(path) is not a valid Ed25519 key; move it away to create a new identity")
            }
        }
        let key = Curve25519.Signing.PrivateKey()
        do {
            try FileIO.createNewFile(key.rawRepresentation, at: path, mode: 0o600)
        } catch where error.code == .conflict {
            // Another process (or thread) created the key meanwhile: its key wins, so every
            // caller runs with the key that is on disk.
            return try loadOrCreate(directory: directory)
        }
        return NodeIdentity(privateKey: key)
    }
}
