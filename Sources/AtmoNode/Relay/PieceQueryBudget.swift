/// How many manifest parts this node sends each peer that asks over a relay or its own
/// WebSocket (pure; `RelayTransferProvider+Pieces` keeps one). A `piece_query` of about
/// 200 bytes can ask for up to 128 parts of 342 KiB, and relayed frames are queued without
/// backpressure, so a peer repeating the question could make this node queue far more than
/// it asked for. Each peer has a bucket of `burst` parts, refilled at `partsPerSecond`: an
/// honest pull asks for one manifest, a peer over its budget hears `piece_unavailable`.
struct PieceQueryBudget {
    /// Parts a peer may be sent at once.
    let burst: Double
    /// Parts a peer's bucket regains per second.
    let partsPerSecond: Double
    /// Peers tracked at most; beyond, peers whose buckets are full are forgotten.
    let maxPeers: Int

    private var buckets: [String: (tokens: Double, at: Double)] = [:]

    /// By default every part of the largest manifest (128), twice, then 8 parts a second.
    init(burst: Double = 256, partsPerSecond: Double = 8, maxPeers: Int = 1024) {
        self.burst = burst
        self.partsPerSecond = partsPerSecond
        self.maxPeers = maxPeers
    }

    /// Takes `parts` from `peer`'s bucket at `now` (seconds); false, taking nothing, when
    /// the bucket holds fewer (or no room is left to track a new peer).
    mutating func take(_ parts: Int, peer: String, now: Double) -> Bool {
        var bucket = buckets[peer] ?? (burst, now)
        bucket.tokens = min(burst, bucket.tokens + max(0, now - bucket.at) * partsPerSecond)
        bucket.at = now
        if buckets[peer] == nil, buckets.count >= maxPeers {
            buckets = buckets.filter { _, value in value.tokens + max(0, now - value.at) * partsPerSecond < burst }
            guard buckets.count < maxPeers else { return false }
        }
        guard bucket.tokens >= Double(parts) else {
            buckets[peer] = bucket
            return false
        }
        bucket.tokens -= Double(parts)
        buckets[peer] = bucket
        return true
    }

    /// Peers tracked now.
    var trackedPeers: Int { buckets.count }
}
