import Foundation

/// One entry of `peers`, and the body of `peer_joined`: a node connected to the mesh.
public struct RelayPeer: Sendable, Hashable, Codable {
    /// `node_id`.
    public var nodeID: String
    /// `name`; empty when absent.
    public var name: String
    /// `capabilities`; empty when absent.
    public var capabilities: [String]
    /// `is_founder`; false when absent.
    public var isFounder: Bool
    /// `joined_at` as the relay sent it (a number or a date string), nil when absent or in
    /// `peer_joined`, which has none. See `joinedAtSeconds`.
    public var joinedAt: JSONValue?
    /// Fields this version does not know, kept and written back out.
    public var extra: [String: JSONValue]

    /// A peer entry.
    public init(
        nodeID: String, name: String, capabilities: [String] = [], isFounder: Bool = false, joinedAt: JSONValue? = nil,
        extra: [String: JSONValue] = [:]
    ) {
        self.nodeID = nodeID
        self.name = name
        self.capabilities = capabilities
        self.isFounder = isFounder
        self.joinedAt = joinedAt
        self.extra = extra
    }

    /// `joined_at` as Unix seconds: a number (milliseconds when above 10^11) or an ISO 8601
    /// date string; nil otherwise.
    public var joinedAtSeconds: Double? {
        if let value = joinedAt?.doubleValue { return value > 1e11 ? value / 1000 : value }
        switch joinedAt {
        case .string(let text)?:
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            if let date = formatter.date(from: text) { return date.timeIntervalSince1970 }
            formatter.formatOptions = [.withInternetDateTime]
            return formatter.date(from: text)?.timeIntervalSince1970
        default: return nil
        }
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        try self.init(reading: &reader)
    }

    init(reading reader: inout FieldReader) throws {
        nodeID = try reader.nodeID()
        name = try reader.optionalString("name") ?? ""
        capabilities = try reader.capabilities()
        isFounder = try reader.optionalBool("is_founder") ?? false
        joinedAt = try reader.decode(JSONValue.self, "joined_at")
        extra = try reader.unknownFields()
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try write(to: &writer)
        try writer.finish(extra: extra)
    }

    func write(to writer: inout FieldWriter) throws {
        try writer.write("node_id", nodeID)
        try writer.write("name", name)
        try writer.write("capabilities", capabilities)
        try writer.write("is_founder", isFounder)
        try writer.write("joined_at", joinedAt)
    }
}

/// `peers`: the relay's list of the nodes connected to the mesh, sent after `joined`. An
/// invalid entry is left out (see `rejected`) rather than hiding the others.
public struct RelayPeers: Sendable, Hashable, Codable {
    public static let messageType = "peers"
    /// The valid entries, in the relay's order.
    public var peers: [RelayPeer]
    /// Why entries were left out; empty when all were valid. Never encoded.
    public var rejected: [WireError]
    /// Fields this version does not know, kept and written back out.
    public var extra: [String: JSONValue]

    /// A list of peers.
    public init(peers: [RelayPeer], extra: [String: JSONValue] = [:]) {
        self.peers = peers
        self.rejected = []
        self.extra = extra
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        _ = try reader.optionalString("type")
        let list = try reader.lossyArray(RelayPeer.self, "peers", limit: RelayLimits.maxPeers)
        peers = list?.values ?? []
        rejected = list?.rejected ?? []
        extra = try reader.unknownFields()
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("type", Self.messageType)
        try writer.write("peers", peers)
        try writer.finish(extra: extra)
    }
}

/// `peer_joined`: the relay tells the others that a node was admitted.
public struct RelayPeerJoined: Sendable, Hashable, Codable {
    public static let messageType = "peer_joined"
    /// The node (its `joinedAt` is normally nil: the message has no `joined_at`).
    public var peer: RelayPeer

    /// The announcement of `peer`.
    public init(peer: RelayPeer) { self.peer = peer }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        _ = try reader.optionalString("type")
        peer = try RelayPeer(reading: &reader)
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("type", Self.messageType)
        try peer.write(to: &writer)
        try writer.finish(extra: peer.extra)
    }
}

/// `peer_left`: the relay tells the others that a node disconnected.
public struct RelayPeerLeft: Sendable, Hashable, Codable {
    public static let messageType = "peer_left"
    /// `node_id` of the node that left.
    public var nodeID: String
    /// Fields this version does not know, kept and written back out.
    public var extra: [String: JSONValue]

    /// The departure of `nodeID`.
    public init(nodeID: String, extra: [String: JSONValue] = [:]) {
        self.nodeID = nodeID
        self.extra = extra
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        _ = try reader.optionalString("type")
        nodeID = try reader.nodeID()
        extra = try reader.unknownFields()
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("type", Self.messageType)
        try writer.write("node_id", nodeID)
        try writer.finish(extra: extra)
    }
}
