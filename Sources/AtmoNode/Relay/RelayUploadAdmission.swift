/// How many relayed uploads (chunked transfers this node serves through relays or its own
/// WebSocket) run at once, per requesting node and in all (pure; `RelayUploadSlots` keeps
/// one for the provider). A `model_request` is a few hundred bytes and each accepted one
/// reads and queues chunks of up to 1 MiB without backpressure, so without a bound one
/// peer sending hundreds of requests (and never acking) made the node hold hundreds of MB
/// and stall its HTTP API (hostile dec07e F6). An honest consumer runs at most four pieces
/// per download and two downloads at once: eight per node.
struct RelayUploadAdmission: Sendable {
    /// The bounds.
    struct Limits: Sendable, Hashable {
        /// Uploads one requesting node may have at once.
        var perPeer = 8
        /// Uploads at once for all peers together.
        var total = 32
    }

    /// The answer to a request.
    enum Decision: Sendable, Hashable {
        /// Serve it; call `release(peer:)` when it ends.
        case admitted
        /// The peer already has `Limits.perPeer` uploads.
        case peerFull(active: Int)
        /// The node already serves `Limits.total` uploads.
        case nodeFull(active: Int)
    }

    let limits: Limits
    private var active: [String: Int] = [:]
    /// Uploads running now, all peers.
    private(set) var total = 0

    init(limits: Limits = Limits()) {
        self.limits = Limits(perPeer: max(1, limits.perPeer), total: max(1, limits.total))
    }

    /// Takes a slot for `peer` if both bounds leave one.
    mutating func admit(peer: String) -> Decision {
        let mine = active[peer, default: 0]
        guard mine < limits.perPeer else { return .peerFull(active: mine) }
        guard total < limits.total else { return .nodeFull(active: total) }
        active[peer] = mine + 1
        total += 1
        return .admitted
    }

    /// Gives back a slot `admit(peer:)` took (one not taken is ignored).
    mutating func release(peer: String) {
        guard let mine = active[peer] else { return }
        active[peer] = mine > 1 ? mine - 1 : nil
        total -= 1
    }

    /// Uploads `peer` has now.
    func uploads(of peer: String) -> Int { active[peer, default: 0] }

    /// Peers with an upload now (the table never holds more than `Limits.total`).
    var trackedPeers: Int { active.count }
}
