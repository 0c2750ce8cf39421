/// `mesh_registered`: the relay accepted a `register_mesh`.
public struct RelayMeshRegistered: Sendable, Hashable, Codable {
    public static let messageType = "mesh_registered"
    /// `success`; true when absent.
    public var success: Bool
    /// Fields this version does not know, kept and written back out.
    public var extra: [String: JSONValue]

    /// A registration answer.
    public init(success: Bool = true, extra: [String: JSONValue] = [:]) {
        self.success = success
        self.extra = extra
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        _ = try reader.optionalString("type")
        success = try reader.optionalBool("success") ?? true
        extra = try reader.unknownFields()
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("type", Self.messageType)
        try writer.write("success", success)
        try writer.finish(extra: extra)
    }
}

/// `error`: the relay refuses something. Admission errors carry a `code` and are followed by
/// a close (1008); a `direct` to an unknown peer gets only a `message`.
public struct RelayErrorMessage: Sendable, Hashable, Codable {
    public static let messageType = "error"
    /// The relay's error codes (an open set: others are kept as sent).
    public enum Code {
        /// `register_mesh` lacked a required field.
        public static let missingFields = "MISSING_FIELDS"
        /// `register_mesh` was refused (bad proof, mesh taken...).
        public static let registrationFailed = "REGISTRATION_FAILED"
        /// The mesh is registered and the join carried no token.
        public static let tokenRequired = "TOKEN_REQUIRED"
        /// The join's token is malformed, badly signed, expired or for another mesh or node.
        public static let tokenInvalid = "TOKEN_INVALID"
    }
    /// `code`, such as `TOKEN_INVALID`; nil when absent.
    public var code: String?
    /// `message`, for a person; empty when absent.
    public var message: String
    /// Fields this version does not know, kept and written back out.
    public var extra: [String: JSONValue]

    /// An error with an optional `code`.
    public init(code: String? = nil, message: String, extra: [String: JSONValue] = [:]) {
        self.code = code
        self.message = message
        self.extra = extra
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        _ = try reader.optionalString("type")
        code = try reader.optionalString("code")
        message = try reader.optionalString("message") ?? ""
        extra = try reader.unknownFields()
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("type", Self.messageType)
        try writer.write("code", code)
        try writer.write("message", message)
        try writer.finish(extra: extra)
    }
}

/// `joined`: the relay admitted this node; `peers` follows.
public struct RelayJoined: Sendable, Hashable, Codable {
    public static let messageType = "joined"
    /// `mesh`: the mesh's name as the relay reports it (the older relay sends the mesh id);
    /// empty when absent.
    public var mesh: String
    /// `mesh_id`.
    public var meshID: String
    /// `node_count`: nodes connected, this one included; 0 when absent.
    public var nodeCount: Int64
    /// Fields this version does not know, kept and written back out.
    public var extra: [String: JSONValue]

    /// An admission answer; `features` (**Extension**) are what the relay offers beyond the
    /// notes, such as `binary_direct`.
    public init(mesh: String, meshID: String, nodeCount: Int64, features: [String] = [], extra: [String: JSONValue] = [:]) {
        self.mesh = mesh
        self.meshID = meshID
        self.nodeCount = nodeCount
        self.extra = extra
        if !features.isEmpty { self.features = features }
    }

    /// `features` (**Extension**): what the relay offers beyond the notes, such as
    /// `binary_direct` (see `RelayBinaryFrame`); empty from older relays. Kept in `extra`,
    /// so older clients, which ignore unknown fields, are unaffected.
    public var features: [String] {
        get { extra["features"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
        set { extra["features"] = newValue.isEmpty ? nil : .array(newValue.map(JSONValue.string)) }
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        _ = try reader.optionalString("type")
        mesh = try reader.optionalString("mesh") ?? ""
        meshID = try reader.meshID()
        nodeCount = try reader.optionalInt("node_count") ?? 0
        guard nodeCount >= 0 else { throw reader.fail("node_count", "must not be negative") }
        extra = try reader.unknownFields()
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("type", Self.messageType)
        try writer.write("mesh", mesh)
        try writer.write("mesh_id", meshID)
        try writer.write("node_count", nodeCount)
        try writer.finish(extra: extra)
    }
}

/// `pong`: the relay's answer to `ping`, with its clock in float seconds.
public struct RelayPong: Sendable, Hashable, Codable {
    public static let messageType = "pong"
    /// `timestamp`: the relay's Unix time in seconds (fractional); nil when absent.
    public var timestamp: Double?
    /// Fields this version does not know, kept and written back out.
    public var extra: [String: JSONValue]

    /// A pong stamped `timestamp`.
    public init(timestamp: Double?, extra: [String: JSONValue] = [:]) {
        self.timestamp = timestamp
        self.extra = extra
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        _ = try reader.optionalString("type")
        timestamp = try reader.optionalDouble("timestamp")
        extra = try reader.unknownFields()
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("type", Self.messageType)
        try writer.write("timestamp", timestamp)
        try writer.finish(extra: extra)
    }
}
