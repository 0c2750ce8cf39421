import AtmoMesh
import AtmoProtocol

/// What a pull that finds no provider adds to its `not_offered` message when this node
/// refused peer catalogs lately (`refused_catalogs` of `GET /v1/mesh/peers`): one of those may
/// have offered the model. The error code stays `not_offered`; only the message says more.
package enum RefusedCatalogHint {
    /// `"; 2 peer catalogs were refused ... (largest: ...); ..."`, to append to the message of
    /// a pull of `modelID` that found no provider; nil when `refusals` is empty. It names the
    /// largest refusal (the newest of equal size) of a catalog whose node is a known peer with
    /// an HTTP endpoint (`httpOf`, by node id), and then says how to pull from that node
    /// directly; else the largest of all. What a peer wrote (`detail`) stays out of it.
    package static func text(_ refusals: [MeshAPI.RefusedCatalog], modelID: String, httpOf: (String) -> String?) -> String? {
        func largest(_ candidates: [MeshAPI.RefusedCatalog]) -> MeshAPI.RefusedCatalog? {
            candidates.max { ($0.bytes, $0.refusedAt) < ($1.bytes, $1.refusedAt) }
        }
        let direct = refusals.compactMap { refusal in
            refusal.origin.isEmpty ? nil : httpOf(refusal.origin).map { (refusal: refusal, http: $0) }
        }
        let named = largest(direct.map(\.refusal)) ?? largest(refusals)
        guard let named else { return nil }
        // Catalogs, not refusals: one origin's catalog refused from two senders (pulled from
        // it and pushed by it) is one catalog.
        let count = Set(refusals.map { $0.origin.isEmpty ? "from " + $0.sender : $0.origin }).count
        let catalogs = count == 1 ? "1 peer catalog was" : "\(count) peer catalogs were"
        let which = count == 1 ? "" : "largest: "
        let said = "; \(catalogs) refused by this node's gossip limits in the last hour and may have offered it "
            + "(\(which)\(describe(named, detail: false)))"
        if let http = direct.first(where: { $0.refusal == named })?.http {
            return said + "; pull it from that node directly: `atmo pull \(modelID) --from \(http)`"
        }
        return said + "; see `refused_catalogs` in `atmo peers --json` and the node's log"
    }

    /// How long a refusal counts for the hint: an hour, long enough for a user to try a pull
    /// after the refusal, short enough that a catalog refused once long ago is not blamed.
    /// Every refusal is remembered (`CatalogRefusalMemory`), so one refused again and again
    /// stays in it.
    package static let recentMs: Int64 = 60 * 60 * 1000

    /// Those of `refusals` of the last `recentMs` before `now`.
    package static func recent(_ refusals: [MeshAPI.RefusedCatalog], now: Int64) -> [MeshAPI.RefusedCatalog] {
        refusals.filter { now - $0.refusedAt < recentMs }
    }

    /// One refusal, for a person: whose catalog, how large, and what it did not fit; with
    /// `detail`, also what the peer's catalog said of its refused or unreadable entries.
    package static func describe(_ refusal: MeshAPI.RefusedCatalog, detail: Bool = true) -> String {
        let quoted = detail ? " (\(refusal.detail ?? "?"))" : ""
        let whose = refusal.origin.isEmpty ? "a catalog from \(refusal.sender)" : "the catalog of node \(refusal.origin)"
        let size = refusal.bytes > 0 ? ", \(byteText(refusal.bytes))" : ""
        let budget = refusal.budget.map(byteText) ?? "?"
        switch refusal.reason {
        case CatalogRefusal.Reason.overOriginBudget.rawValue:
            return "\(whose)\(size), over the \(budget) per-origin budget"
        case CatalogRefusal.Reason.overSenderBudget.rawValue:
            return "\(whose)\(size), over the \(budget) that \(refusal.sender) may push unasked"
        case CatalogRefusal.Reason.noRoom.rawValue:
            return "\(whose)\(size), no room within the \(budget) of catalogs held"
        case CatalogRefusal.Reason.entriesRefused.rawValue:
            return "\(whose): \(refusal.entries ?? 0) entries refused\(quoted)"
        case MeshAPI.RefusedCatalog.unreadable:
            return "\(whose): \(refusal.entries ?? 1) unreadable\(quoted)"
        default:
            return "\(whose)\(size): \(refusal.reason)"
        }
    }

    /// `512 bytes`, `9.1 KiB`, `4.0 MiB`.
    static func byteText(_ bytes: Int) -> String {
        if bytes < 1024 { return "\(bytes) bytes" }
        let (value, unit) = bytes < 1 << 20 ? (Double(bytes) / 1024, "KiB") : (Double(bytes) / Double(1 << 20), "MiB")
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) \(unit)"
    }
}
