import AtmoMesh
import Logging

extension MeshState {
    /// Warns of catalogs the gossip refused for their size, or took with entries refused (at most one line per origin per
    /// 10 minutes, `CatalogRefusalNotices`): a repository of many thousand files makes its
    /// node's catalog larger than the per-origin budget, and would otherwise vanish from the
    /// mesh without a trace.
    func logRefusals(_ refusals: [CatalogRefusal]) {
        guard let logger else { return }
        for refusal in refusals {
            var metadata: Logger.Metadata = [
                "origin": "\(refusal.origin)", "bytes": "\(refusal.bytes)", "reason": "\(refusal.reason.rawValue)",
                "sender": "\(refusal.sender)",
            ]
            if refusal.reason == .entriesRefused {
                metadata["entries"] = "\(refusal.entries)"
            } else {
                metadata["budget"] = "\(refusal.budget)"
            }
            if refusal.unnoticedBefore > 0 { metadata["unnoticed_before"] = "\(refusal.unnoticedBefore)" }
            logger.warning("gossip: \(refusal.summary)", metadata: metadata)
        }
    }
}
