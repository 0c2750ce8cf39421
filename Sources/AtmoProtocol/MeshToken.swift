import Foundation

/// A mesh admission token (PROTOCOL-NOTES §4): signed with the mesh's Ed25519 key, it lets
/// one node (or any node, when `nodeID` is nil) join the mesh through the relay until
/// `expiresAt`. Signing and verifying live in `AtmoStore.MeshKeys`; this is the wire value,
/// its canonical signed bytes (`signedBytes`), its transport form and its pure checks.
public struct MeshToken: Sendable, Hashable, Codable {
    /// The capabilities a token grants when the issuer names none.
    public static let defaultCapabilities = ["participant"]

    /// `mesh_id`: the mesh this token admits to (compared with the relay URL's mesh).
    public var meshID: String
    /// `node_id`: the only node admitted, or nil (JSON null) for any node.
    public var nodeID: String?
    /// `issued_at`, epoch seconds.
    public var issuedAt: Int64
    /// `expires_at`, epoch seconds.
    public var expiresAt: Int64
    /// `capabilities`, as sent (they are signed sorted).
    public var capabilities: [String]
    /// `issuer_id`: the node id of the issuer.
    public var issuerID: String
    /// `nonce`: 32 hex characters, unique per token.
    public var nonce: String
    /// `signature`: the Ed25519 signature over `signedBytes`; empty while unsigned.
    public var signature: Data
    /// Fields this version does not know, kept and written back out (they are not signed).
    public var extra: [String: JSONValue]

    /// A token with the given claims; `signature` stays empty until the mesh key signs it.
    public init(
        meshID: String, nodeID: String?, issuedAt: Int64, expiresAt: Int64,
        capabilities: [String] = MeshToken.defaultCapabilities, issuerID: String, nonce: String,
        signature: Data = Data(), extra: [String: JSONValue] = [:]
    ) {
        self.meshID = meshID
        self.nodeID = nodeID
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.capabilities = capabilities
        self.issuerID = issuerID
        self.nonce = nonce
        self.signature = signature
        self.extra = extra
    }

    /// A fresh random nonce: 16 random bytes as 32 lowercase hex characters.
    public static func randomNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in
            let byte = UInt8.random(in: .min ... .max, using: &generator)
            return String(byte, radix: 16).leftPadded(to: 2)
        }.joined()
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        meshID = try reader.meshID()
        if let node = try reader.optionalString("node_id") {
            guard Validation.isValidNodeID(node) else {
                throw reader.fail("node_id", "node_id must be null or 1-\(RelayLimits.maxNodeIDLength) printable ASCII characters")
            }
            nodeID = node
        } else {
            nodeID = nil
        }
        issuedAt = try reader.nonNegativeInt("issued_at")
        expiresAt = try reader.nonNegativeInt("expires_at")
        capabilities = try reader.capabilities(fallback: Self.defaultCapabilities)
        issuerID = try reader.nodeID("issuer_id")
        nonce = try reader.string("nonce")
        guard RelayValidation.isValidNonce(nonce) else { throw reader.fail("nonce", "nonce must be 32 hex characters") }
        signature = try reader.base64("signature", length: RelayLimits.ed25519SignatureBytes)
        extra = try reader.unknownFields()
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("mesh_id", meshID)
        if let nodeID {
            try writer.write("node_id", nodeID)
        } else {
            try writer.writeNull("node_id")
        }
        try writer.write("issued_at", issuedAt)
        try writer.write("expires_at", expiresAt)
        try writer.write("capabilities", capabilities)
        try writer.write("issuer_id", issuerID)
        try writer.write("nonce", nonce)
        try writer.write("signature", signature.base64EncodedString())
        try writer.finish(extra: extra)
    }
}

extension FieldWriter {
    /// Writes an explicit JSON `null` (for fields whose null has a meaning, like `node_id`).
    mutating func writeNull(_ name: String) throws {
        try write(name, JSONValue.null)
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
