/// Who asked for a model from which address: the `requester_node_id` of the
/// `model_request` (`POST /v1/transfers`) a consumer sends before its range requests, by
/// client address and model id. It names the peer of the bytes served over HTTP when the
/// address alone does not (several peers on one host: nodes sharing a machine).
///
/// Bounded: at most `capacity` entries, each kept `lifetimeMs` after its last request; a
/// full memory drops its oldest entry. A claim, not a proof: a client may name any node,
/// which moves its bytes to that label (the labels stay bounded, `PeerLabels`). Pure.
struct RequesterMemory: Sendable {
    struct Key: Hashable, Sendable {
        var address: String
        var modelID: String
    }

    let capacity: Int
    let lifetimeMs: Int64
    private(set) var entries: [Key: (nodeID: String, atMs: Int64)] = [:]

    init(capacity: Int = 1024, lifetimeMs: Int64 = 10 * 60 * 1000) {
        self.capacity = max(1, capacity)
        self.lifetimeMs = max(0, lifetimeMs)
    }

    /// `nodeID` asked for `modelID` from `address` at `nowMs`.
    mutating func note(nodeID: String, address: String, modelID: String, nowMs: Int64) {
        guard !nodeID.isEmpty, !address.isEmpty else { return }
        let key = Key(address: address, modelID: modelID)
        if entries[key] == nil, entries.count >= capacity {
            entries = entries.filter { nowMs - $0.value.atMs < lifetimeMs }
            if entries.count >= capacity, let oldest = entries.min(by: { $0.value.atMs < $1.value.atMs })?.key {
                entries[oldest] = nil
            }
        }
        entries[key] = (nodeID, nowMs)
    }

    /// The node that last asked for `modelID` from `address`, within `lifetimeMs`.
    func nodeID(address: String, modelID: String, nowMs: Int64) -> String? {
        guard let entry = entries[Key(address: address, modelID: modelID)], nowMs - entry.atMs < lifetimeMs else { return nil }
        return entry.nodeID
    }
}
