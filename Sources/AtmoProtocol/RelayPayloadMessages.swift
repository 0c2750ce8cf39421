/// `broadcast`: a client asks the relay to pass `payload` to every other peer of the mesh.
public struct RelayBroadcast: Sendable, Hashable, Codable {
    public static let messageType = "broadcast"
    /// The mesh message carried (a JSON object, such as a `model_catalog`).
    public var payload: [String: JSONValue]
    /// Fields this version does not know, kept and written back out.
    public var extra: [String: JSONValue]

    /// A broadcast of `payload`.
    public init(payload: [String: JSONValue], extra: [String: JSONValue] = [:]) {
        self.payload = payload
        self.extra = extra
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        _ = try reader.optionalString("type")
        payload = try reader.payload()
        extra = try reader.unknownFields()
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("type", Self.messageType)
        try writer.write("payload", payload)
        try writer.finish(extra: extra)
    }
}

/// `direct`: a client asks the relay to pass `payload` to one peer, `target`. Transfer
/// messages (`model_request`...) must travel this way, never bare.
public struct RelayDirect: Sendable, Hashable, Codable {
    public static let messageType = "direct"
    /// `target`: the node id of the receiver.
    public var target: String
    /// The mesh message carried (a JSON object).
    public var payload: [String: JSONValue]
    /// Fields this version does not know, kept and written back out.
    public var extra: [String: JSONValue]

    /// A message of `payload` to `target`.
    public init(target: String, payload: [String: JSONValue], extra: [String: JSONValue] = [:]) {
        self.target = target
        self.payload = payload
        self.extra = extra
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        _ = try reader.optionalString("type")
        target = try reader.nodeID("target")
        payload = try reader.payload()
        extra = try reader.unknownFields()
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("type", Self.messageType)
        try writer.write("target", target)
        try writer.write("payload", payload)
        try writer.finish(extra: extra)
    }
}

/// `message`: what the relay delivers for a `broadcast` or a `direct`: the sender's node id
/// and its payload.
public struct RelayDelivery: Sendable, Hashable, Codable {
    public static let messageType = "message"
    /// `from`: the node id of the sender (set by the relay, not by the sender).
    public var from: String
    /// The mesh message carried (a JSON object).
    public var payload: [String: JSONValue]
    /// Fields this version does not know, kept and written back out.
    public var extra: [String: JSONValue]

    /// A delivery of `payload` sent by `from`.
    public init(from: String, payload: [String: JSONValue], extra: [String: JSONValue] = [:]) {
        self.from = from
        self.payload = payload
        self.extra = extra
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        _ = try reader.optionalString("type")
        from = try reader.nodeID("from")
        payload = try reader.payload()
        extra = try reader.unknownFields()
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("type", Self.messageType)
        try writer.write("from", from)
        try writer.write("payload", payload)
        try writer.finish(extra: extra)
    }
}

/// `ping`: a client's keep-alive (every 20-25 s); the relay answers `pong`.
public struct RelayPing: Sendable, Hashable, Codable {
    public static let messageType = "ping"
    /// Fields this version does not know, kept and written back out.
    public var extra: [String: JSONValue]

    /// A ping.
    public init(extra: [String: JSONValue] = [:]) { self.extra = extra }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        _ = try reader.optionalString("type")
        extra = try reader.unknownFields()
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("type", Self.messageType)
        try writer.finish(extra: extra)
    }
}
