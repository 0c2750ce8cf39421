import AtmoMesh
import Foundation

/// Naming the peer of an HTTP answer, whose range requests name no requester.
extension NodeMetrics {
    /// A consumer at `address` asked for `modelID` as `nodeID` (its `model_request`).
    func noteRequester(_ nodeID: String, address: String?, modelID: String) {
        guard let address else { return }
        let host = PeerTable.normalizedHost(address)
        let now = Self.nowMs()
        requesters.withLock { $0.note(nodeID: nodeID, address: host, modelID: modelID, nowMs: now) }
    }

    /// The node that asked for `modelID` from `address` lately, if one did.
    func requester(address: String?, modelID: String) -> String? {
        guard let address else { return nil }
        let host = PeerTable.normalizedHost(address)
        let now = Self.nowMs()
        return requesters.withLock { $0.nodeID(address: host, modelID: modelID, nowMs: now) }
    }

    private static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
