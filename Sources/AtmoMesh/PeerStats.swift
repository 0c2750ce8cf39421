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

    /// Whether a direct HTTP download from it is possible.
    public var hasDirectHTTP: Bool { !(httpURL ?? "").isEmpty }

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
        self.latencyMs = max(0, latencyMs)
        if let activeTransfers { self.activeTransfers = max(0, activeTransfers) }
        recordSuccess(now: now)
    }
}
