/// What a node knows and has measured about one peer, for choosing where to pull from.
/// `StateDatabase`'s `PeerRecord` persists the same fields (the node converts).
public struct PeerStats: Sendable, Hashable {
    /// The peer's `node_id`.
    public var nodeID: String
    /// The peer's `node_name`.
    public var nodeName: String
    /// Base URL of its HTTP API, nil when it has no direct HTTP endpoint.
    public var httpURL: String?
    /// Whether it accepts chunked transfers over WebSocket.
    public var websocket: Bool
    /// Round-trip time of its `GET /health`, in milliseconds; nil until measured.
    public var latencyMs: Double?
    /// Downloads it is serving (`active_transfers` of its health answer); nil when unknown.
    public var activeTransfers: Int?
    /// Exponential moving average of outcomes, 0...1: starts at 1, a success makes it
    /// 0.9 r + 0.1, a failure 0.9 r.
    public var reliability: Double
    /// When it was last heard from (Unix epoch ms).
    public var lastSeenMs: Int64
    /// Whether it is connected to a relay this node is connected to (reachable through it).
    public var relayed = false
    /// What the probes of its HTTP endpoint said: not probed yet, answering, or failing (not
    /// reachable from here: behind a NAT, or down; a pull goes another way first).
    public var httpReachability = HTTPReachability.unknown

    /// What is known of a peer's HTTP endpoint, from this node.
    public enum HTTPReachability: String, Sendable, Hashable {
        /// Not probed yet (or its address just changed).
        case unknown
        /// Its last `/health` probe answered.
        case answering
        /// Its last `/health` probe failed.
        case failing
    }

    /// A peer; `reliability` starts at 1.
    public init(
        nodeID: String, nodeName: String, httpURL: String?, websocket: Bool = false, latencyMs: Double? = nil,
        activeTransfers: Int? = nil, reliability: Double = 1.0, lastSeenMs: Int64 = 0
    ) {
        self.nodeID = nodeID
        self.nodeName = nodeName
        self.httpURL = httpURL
        self.websocket = websocket
        self.latencyMs = latencyMs
        self.activeTransfers = activeTransfers
        self.reliability = min(1, max(0, reliability))
        self.lastSeenMs = lastSeenMs
    }

    /// Whether its last probe failed.
    public var httpFailing: Bool { httpReachability == .failing }

    /// Whether a direct HTTP download from it is worth trying first: it has an endpoint that
    /// answered its last probe, or one not probed yet when no relay offers a route to it (a
    /// peer met through a relay is often behind a NAT: its endpoint counts once it answers).
    public var hasDirectHTTP: Bool {
        guard !(httpURL ?? "").isEmpty else { return false }
        switch httpReachability {
        case .answering: return true
        case .unknown: return !relayed
        case .failing: return false
        }
    }

    /// The ways to reach it, best first: `http`, `websocket` (its endpoint is at the same
    /// address, so only while that answers), `relay`.
    public var transports: [String] {
        (hasDirectHTTP ? ["http"] : []) + (hasDirectHTTP && websocket ? ["websocket"] : []) + (relayed ? ["relay"] : [])
    }

    /// A request to it succeeded at `now`: r = 0.9 r + 0.1.
    public mutating func recordSuccess(now: Int64) {
        reliability = 0.9 * reliability + 0.1
        lastSeenMs = max(lastSeenMs, now)
    }

    /// A request to it failed: r = 0.9 r.
    public mutating func recordFailure() {
        reliability *= 0.9
    }

    /// A health probe answered at `now` after `latencyMs`, reporting `activeTransfers`.
    /// Counts as a success.
    public mutating func recordProbe(latencyMs: Double, activeTransfers: Int?, now: Int64) {
        httpReachability = .answering
        self.latencyMs = max(0, latencyMs)
        if let activeTransfers { self.activeTransfers = max(0, activeTransfers) }
        recordSuccess(now: now)
    }
}

/// The order in which to try peers for a pull (PROTOCOL-NOTES §7), best first.
///
/// Peers are compared on these keys in turn, the first difference deciding:
/// 1. a direct HTTP endpoint before none;
/// 2. latency bucket, lower first: < 5 ms, < 20 ms, < 50 ms, < 150 ms, < 500 ms, more,
///    then not yet measured (so 1 ms against 3 ms, both "same LAN", does not outweigh
///    reliability);
/// 3. reliability rounded to tenths, higher first (0.96 and 1.0 tie; one recent failure,
///    0.9, loses to a clean record);
/// 4. active transfers, fewer first (unknown counts as 0);
/// 5. then, to break ties: exact latency, exact reliability, most recently seen, node id.
public enum PeerRanking {
    /// Which peers a pull may use.
    public struct Preference: Sendable, Hashable {
        enum Mode: Sendable, Hashable {
            case automatic
            case first(String)
            case only(String)
        }
        let mode: Mode

        /// Every peer, in ranking order.
        public static let automatic = Preference(mode: .automatic)
        /// The peer named by `node` (node id, or node name ignoring case) first, then the others.
        public static func first(_ node: String) -> Preference { Preference(mode: .first(node)) }
        /// Only the peer named by `node` (`--from NODE`); nothing when it is unknown.
        public static func only(_ node: String) -> Preference { Preference(mode: .only(node)) }
    }

    /// The latency buckets' upper bounds, in milliseconds.
    public static let latencyBucketBoundsMs: [Double] = [5, 20, 50, 150, 500]

    /// `peers` best first, as `preference` allows.
    public static func ordered(_ peers: [PeerStats], preference: Preference = .automatic) -> [PeerStats] {
        let ranked = peers.sorted(by: isBetter)
        switch preference.mode {
        case .automatic:
            return ranked
        case .first(let node):
            return ranked.filter { matches($0, node) } + ranked.filter { !matches($0, node) }
        case .only(let node):
            return ranked.filter { matches($0, node) }
        }
    }

    /// Whether `lhs` should be tried before `rhs` (a strict total order on distinct node ids).
    public static func isBetter(_ lhs: PeerStats, than rhs: PeerStats) -> Bool {
        if lhs.hasDirectHTTP != rhs.hasDirectHTTP { return lhs.hasDirectHTTP }
        let latencyBuckets = (latencyBucket(lhs.latencyMs), latencyBucket(rhs.latencyMs))
        if latencyBuckets.0 != latencyBuckets.1 { return latencyBuckets.0 < latencyBuckets.1 }
        let reliabilityTenths = (reliabilityTenths(lhs.reliability), reliabilityTenths(rhs.reliability))
        if reliabilityTenths.0 != reliabilityTenths.1 { return reliabilityTenths.0 > reliabilityTenths.1 }
        let loads = (lhs.activeTransfers ?? 0, rhs.activeTransfers ?? 0)
        if loads.0 != loads.1 { return loads.0 < loads.1 }
        let latencies = (lhs.latencyMs ?? .infinity, rhs.latencyMs ?? .infinity)
        if latencies.0 != latencies.1 { return latencies.0 < latencies.1 }
        if lhs.reliability != rhs.reliability { return lhs.reliability > rhs.reliability }
        if lhs.lastSeenMs != rhs.lastSeenMs { return lhs.lastSeenMs > rhs.lastSeenMs }
        return lhs.nodeID < rhs.nodeID
    }

    /// 0 for < 5 ms ... 5 for >= 500 ms, 6 when not measured.
    public static func latencyBucket(_ latencyMs: Double?) -> Int {
        guard let latencyMs, latencyMs.isFinite else { return latencyBucketBoundsMs.count + 1 }
        return latencyBucketBoundsMs.firstIndex { latencyMs < $0 } ?? latencyBucketBoundsMs.count
    }

    static func reliabilityTenths(_ reliability: Double) -> Int {
        Int((min(1, max(0, reliability)) * 10).rounded())
    }

    static func matches(_ peer: PeerStats, _ node: String) -> Bool {
        peer.nodeID == node || peer.nodeName.lowercased() == node.lowercased()
    }
}
