import AtmoMesh
import AtmoProtocol
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

    /// Catalogs of `peer`'s answer to this node's pull (`GET /v1/catalogs`) that could not be
    /// read (invalid, nested too deep): remembered as `unreadable` refusals, and warned about
    /// like the gossip's refusals, once per peer per 10 minutes.
    /// An answer read whole clears `peer`'s earlier `unreadable` refusal.
    func unreadableCatalogs(_ rejected: [WireError], pulledFrom peer: String) {
        guard let first = rejected.first else {
            state.withLock { $0.refusedCatalogs.readable(pulledFrom: peer) }
            return
        }
        let now = Self.now()
        let refusal = MeshAPI.RefusedCatalog(
            origin: "", sender: "pull:" + peer, reason: MeshAPI.RefusedCatalog.unreadable, bytes: 0, entries: rejected.count,
            detail: Self.printable(first.message), refusedAt: now)
        guard state.withLock({ $0.refusedCatalogs.record(refusal) }), let logger else { return }
        let what = "\(rejected.count) catalogs of the answer of \(peer) could not be read (\(refusal.detail ?? ""))"
        logger.warning(
            "gossip: \(what); they stay out of the mesh view",
            metadata: ["sender": "\(refusal.sender)", "reason": "\(refusal.reason)", "entries": "\(rejected.count)"])
    }

    /// The refusals this node remembers, newest first, and those concerning each peer
    /// (`refused_catalogs` of `GET /v1/mesh/peers`).
    var refusedCatalogs: [MeshAPI.RefusedCatalog] { state.withLock { $0.refusedCatalogs.all } }

    /// What a pull of `modelID` that finds no provider adds to its message when catalogs were
    /// refused in the last hour (`RefusedCatalogHint`; a refused catalog of a known peer with
    /// an HTTP endpoint comes with the way to pull from it directly); "" when none were.
    func refusalHint(modelID: String) -> String {
        let now = Self.now()
        return state.withLock { state in
            RefusedCatalogHint.text(state.refusedCatalogs.recent(now: now), modelID: modelID) { state.peers[$0]?.stats.httpURL }
        } ?? ""
    }

    /// What a peer sent, fit for a log line and an answer: printable ASCII, at most 200 characters.
    static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.prefix(200).map { $0.value >= 0x20 && $0.value < 0x7F ? $0 : "?" }))
    }
}
