import Foundation

/// `register_mesh`: the founder registers its mesh with the relay, proving it holds the
/// mesh key by signing the UTF-8 `mesh_id`.
public struct RelayRegisterMesh: Sendable, Hashable, Codable {
    public static let messageType = "register_mesh"
    /// `mesh_id`, checked by `RelayValidation.isValidMeshID`.
    public var meshID: String
    /// `mesh_public_key`: the raw 32-byte Ed25519 key (base64 on the wire).
    public var meshPublicKey: Data
    /// `founder_proof`: the 64-byte Ed25519 signature over the UTF-8 `mesh_id` (base64).
    public var founderProof: Data
    /// `node_id` of the founder.
    public var nodeID: String
    /// `name`; empty when absent.
    public var name: String
    /// `display_name`; empty when absent.
    public var displayName: String
    /// `node_public_key`: the founder node's raw Ed25519 key, when sent.
    public var nodePublicKey: Data?
    /// `capabilities`; empty when absent.
    public var capabilities: [String]
    /// Fields this version does not know, kept and written back out.
    public var extra: [String: JSONValue]

    /// A registration of `meshID` by the founder `nodeID`.
    public init(
        meshID: String, meshPublicKey: Data, founderProof: Data, nodeID: String, name: String,
        displayName: String, nodePublicKey: Data? = nil, capabilities: [String] = [], extra: [String: JSONValue] = [:]
    ) {
        self.meshID = meshID
        self.meshPublicKey = meshPublicKey
        self.founderProof = founderProof
        self.nodeID = nodeID
        self.name = name
        self.displayName = displayName
        self.nodePublicKey = nodePublicKey
        self.capabilities = capabilities
        self.extra = extra
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        _ = try reader.optionalString("type")
        meshID = try reader.meshID()
        meshPublicKey = try reader.base64("mesh_public_key", length: RelayLimits.ed25519PublicKeyBytes)
        founderProof = try reader.base64("founder_proof", length: RelayLimits.ed25519SignatureBytes)
        nodeID = try reader.nodeID()
        name = try reader.optionalString("name") ?? ""
        displayName = try reader.optionalString("display_name") ?? ""
        nodePublicKey = try reader.optionalBase64("node_public_key", length: RelayLimits.ed25519PublicKeyBytes)
        capabilities = try reader.capabilities()
        extra = try reader.unknownFields()
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("type", Self.messageType)
        try writer.write("mesh_id", meshID)
        try writer.write("mesh_public_key", meshPublicKey.base64EncodedString())
        try writer.write("founder_proof", founderProof.base64EncodedString())
        try writer.write("node_id", nodeID)
        try writer.write("name", name)
        try writer.write("display_name", displayName)
        try writer.write("node_public_key", nodePublicKey?.base64EncodedString())
        try writer.write("capabilities", capabilities)
        try writer.finish(extra: extra)
    }
}

/// `join` (or the older `register`): a member asks to enter a mesh, with a token when the
/// mesh is registered.
public struct RelayJoin: Sendable, Hashable, Codable {
    public static let messageType = "join"
    /// The older name of the same message.
    public static let legacyMessageType = "register"
    /// `join` or `register`, as sent (written back unchanged).
    public var type: String
    /// `node_id` of the joining node.
    public var nodeID: String
    /// `token`: a valid token object (or its base64url transport string), or nil.
    public var token: MeshToken?
    /// Why the `token` that was sent is unusable (the relay answers `TOKEN_INVALID`); the
    /// raw value stays in `extra["token"]`. Nil when no token was sent or it decoded.
    public var tokenError: WireError?
    /// `capabilities`; empty when absent.
    public var capabilities: [String]
    /// `name`; empty when absent.
    public var name: String
    /// Fields this version does not know, kept and written back out.
    public var extra: [String: JSONValue]

    /// A join of `nodeID` presenting `token`.
    public init(nodeID: String, token: MeshToken?, capabilities: [String] = [], name: String = "", type: String = messageType) {
        self.type = type
        self.nodeID = nodeID
        self.token = token
        self.tokenError = nil
        self.capabilities = capabilities
        self.name = name
        self.extra = [:]
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        type = try reader.optionalString("type") ?? Self.messageType
        nodeID = try reader.nodeID()
        capabilities = try reader.capabilities()
        name = try reader.optionalString("name") ?? ""
        let raw = try reader.decode(JSONValue.self, "token")
        extra = try reader.unknownFields()
        token = nil
        tokenError = nil
        switch raw {
        case nil, .null?: break
        case .string(let text)?:
            do throws(WireError) { token = try MeshToken(transportString: text) } catch { tokenError = error }
        case let value?:
            do throws(WireError) {
                token = try WireCoding.decode(MeshToken.self, from: try Self.json(value))
            } catch {
                tokenError = WireError(error.code, "token." + error.message)
            }
        }
        if tokenError != nil, let raw { extra["token"] = raw }
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("type", type)
        try writer.write("node_id", nodeID)
        if let token { try writer.write("token", token) }
        try writer.write("capabilities", capabilities)
        try writer.write("name", name)
        try writer.finish(extra: extra)
    }

    private static func json(_ value: JSONValue) throws(WireError) -> Data {
        do { return try WireCoding.encode(value) } catch { throw WireError(.invalidValue, "token: \(error)") }
    }
}
