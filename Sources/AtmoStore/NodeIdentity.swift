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
        try FileIO.makeDirectory(directory)
        let key = Curve25519.Signing.PrivateKey()
        let temporary = FileIO.temporaryName(for: path)
        let fd = try FileIO.open(temporary, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
        defer { unlink(temporary) }
        do throws(StoreError) {
            var failure: StoreError?
            key.rawRepresentation.withUnsafeBytes { bytes in
                do throws(StoreError) { try FileIO.pwrite(fd, bytes, offset: 0, path: temporary) } catch { failure = error }
            }
            if let failure { throw failure }
            try FileIO.fsync(fd, path: temporary)
            FileIO.close(fd)
        } catch {
            FileIO.close(fd)
            throw error
        }
        // link, not rename: when another process (or thread) created the key meanwhile,
        // its key wins and is loaded, so every caller runs with the key that is on disk.
        if link(temporary, path) != 0 {
            let code = errno
            if code == EEXIST { return try loadOrCreate(directory: directory) }
            // A filesystem without hard links: fall back to a plain rename.
            guard code == EPERM || code == EOPNOTSUPP else { throw StoreError.posix(code, "create", path: path) }
            try FileIO.rename(temporary, path)
        }
        try FileIO.fsyncDirectory(directory)
        return NodeIdentity(privateKey: key)
    }
}
