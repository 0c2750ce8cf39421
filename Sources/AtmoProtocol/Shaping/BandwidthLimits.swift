import Foundation

/// Which way bytes move, seen from this node.
public enum TransferDirection: String, Sendable, Hashable, Codable, CaseIterable {
    /// This node sends (serving a model).
    case up
    /// This node receives (pulling a model).
    case down
}

/// One rate each way.
public struct DirectionalRates: Sendable, Hashable, Codable {
    /// What this node may send.
    public var up: ByteRate
    /// What this node may receive.
    public var down: ByteRate

    /// Rates each way; unlimited by default.
    public init(up: ByteRate = .unlimited, down: ByteRate = .unlimited) {
        self.up = up
        self.down = down
    }

    /// The rate of `direction`.
    public subscript(direction: TransferDirection) -> ByteRate {
        get { direction == .up ? up : down }
        set { if direction == .up { up = newValue } else { down = newValue } }
    }

    /// Whether both ways are unlimited.
    public var isUnlimited: Bool { up.isUnlimited && down.isUnlimited }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        up = try container.decodeIfPresent(ByteRate.self, forKey: .up) ?? .unlimited
        down = try container.decodeIfPresent(ByteRate.self, forKey: .down) ?? .unlimited
    }
}

/// How much of the network a node's transfers may take: node-wide limits each way, an
/// optional limit per peer (the same for every peer, and overrides for named peers), the
/// seed's size classes as a named policy, and whether uploads yield to delay (`adaptive_uploads`).
///
/// The JSON of `config.json`'s `"bandwidth"`, of `GET`/`PUT /v1/limits` and of `atmo limit`;
/// every key is optional:
///
/// ```json
/// {"up": "20MB/s", "down": "unlimited", "per_peer": {"up": "5MB/s"},
///  "peers": {"0a1b...": {"down": "1MB/s"}, "192.168.1.20": {"up": "2MB/s"}},
///  "size_class_policy": "seed", "adaptive_uploads": true}
/// ```
public struct BandwidthLimits: Sendable, Hashable, Codable {
    /// Node-wide: all transfers together, each way.
    public var up: ByteRate = .unlimited
    /// See `up`.
    public var down: ByteRate = .unlimited
    /// Each peer alone, each way (a peer is a node id, or for HTTP the client's address).
    public var perPeer = DirectionalRates()
    /// Overrides of `perPeer` for named peers (node id or IP address).
    public var peers: [String: DirectionalRates] = [:]
    /// A rate per transfer by the model's size (`SizeClassPolicy`); off by default.
    public var sizeClassPolicy: SizeClassPolicy = .off
    /// Every upload is a background transfer: it watches the round trip to its peer and
    /// halves its rate when the delay rises (`DelayController`). Only uploads with a round
    /// trip to watch (chunked WebSocket transfers, relayed or direct) can adapt.
    public var adaptiveUploads = false

    /// The most named peers a configuration may hold.
    public static let maxNamedPeers = 1024

    /// No limits.
    public init() {}

    /// The node-wide rate of `direction`.
    public func rate(_ direction: TransferDirection) -> ByteRate { direction == .up ? up : down }

    /// The rate of one peer in `direction`: its own entry when it has one, else `perPeer`.
    public func peerRate(_ peer: String, _ direction: TransferDirection) -> ByteRate {
        peers[peer]?[direction] ?? perPeer[direction]
    }

    /// Whether no limit applies at all (adaptive transfers aside).
    public var isUnlimited: Bool {
        up.isUnlimited && down.isUnlimited && perPeer.isUnlimited && peers.values.allSatisfy(\.isUnlimited) && sizeClassPolicy == .off
    }

    /// What is wrong with these limits, or nil.
    public var problem: String? {
        if peers.count > Self.maxNamedPeers { return "at most \(Self.maxNamedPeers) named peers" }
        if let bad = peers.keys.first(where: { $0.isEmpty || $0.utf8.count > 200 }) {
            return "peer name '\(bad.prefix(40))' must be 1-200 bytes"
        }
        return nil
    }

    enum CodingKeys: String, CodingKey {
        case up, down, perPeer = "per_peer", peers, sizeClassPolicy = "size_class_policy", adaptiveUploads = "adaptive_uploads"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        up = try container.decodeIfPresent(ByteRate.self, forKey: .up) ?? .unlimited
        down = try container.decodeIfPresent(ByteRate.self, forKey: .down) ?? .unlimited
        perPeer = try container.decodeIfPresent(DirectionalRates.self, forKey: .perPeer) ?? DirectionalRates()
        peers = try container.decodeIfPresent([String: DirectionalRates].self, forKey: .peers) ?? [:]
        sizeClassPolicy = try container.decodeIfPresent(SizeClassPolicy.self, forKey: .sizeClassPolicy) ?? .off
        adaptiveUploads = try container.decodeIfPresent(Bool.self, forKey: .adaptiveUploads) ?? false
        if let problem {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: problem))
        }
    }
}

extension BandwidthLimits {
    /// `GET` (the limits and the background rates held now) and `PUT` (new limits, the whole
    /// object) of the node's local API.
    public static let apiPath = "/v1/limits"
}

/// The limits in force and the rates background transfers are held to now.
public struct BandwidthStatus: Sendable, Hashable, Codable {
    /// One background transfer direction held back by its delay controller.
    public struct Adaptive: Sendable, Hashable, Codable {
        /// The peer.
        public var peer: String
        /// Which way.
        public var direction: TransferDirection
        /// The rate its controller allows now.
        public var rate: ByteRate

        /// One held-back direction.
        public init(peer: String, direction: TransferDirection, rate: ByteRate) {
            self.peer = peer
            self.direction = direction
            self.rate = rate
        }
    }

    /// The limits (the body `PUT /v1/limits` takes).
    public var limits: BandwidthLimits
    /// Background rates in force.
    public var adaptive: [Adaptive]

    /// A status.
    public init(limits: BandwidthLimits, adaptive: [Adaptive] = []) {
        self.limits = limits
        self.adaptive = adaptive
    }
}
