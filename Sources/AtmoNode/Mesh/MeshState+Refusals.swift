import AtmoMesh
import Logging

extension MeshState {
    /// Warns of catalogs the gossip refused for their size (at most one line per origin per
    /// 10 minutes, `CatalogRefusalNotices`): a repository of many thousand files makes its
    /// node's catalog larger than the per-origin budget, and would otherwise vanish from the
    /// mesh without a trace.
    func logRefusals(_ refusals: [CatalogRefusal]) {
        guard let logger else { return }
        for refusal in refusals {
            var metadata: Logger.Metadata = [
                "origin": "\(refusal.origin)", "bytes": "\(refusal.bytes)", "budget": "\(refusal.budget)",
                "reason": "\(refusal.reason.rawValue)", "sender": "\(refusal.sender)",
            ]
            if refusal.unnoticedBefore > 0 { metadata["unnoticed_before"] = "\(refusal.unnoticedBefore)" }
            logger.warning("catalog refused: \(refusal.summary)", metadata: metadata)
        }
    }
}
