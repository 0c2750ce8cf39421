import AtmoProtocol

extension GossipState {
    /// The sender of catalogs whose deliverer is not known (they share one budget).
    static var unknownSender: String { "unknown" }

    /// The sender of the catalogs in the answer to this node's pull of `peer`: apart from
    /// what `peer` pushes, which its address names.
    static func pullSender(_ peer: Peer) -> String { "pull:\(peer)" }

    /// Bytes held of catalogs `sender` delivered.
    public func heldBytes(deliveredBy sender: String) -> Int { bytesBySender[sender] ?? 0 }

    /// Whether the catalog of an origin comes from a peer this node talks to directly
    /// (configured, discovered on the LAN, probed): those are kept first.
    func isDirect(_ catalog: ModelCatalog) -> Bool {
        guard let peer = peerAddress(catalog) else { return false }
        return view.source(of: peer) == .direct
    }

    /// Whether `catalog` (of `bytes`, delivered by `sender`) fits the byte budgets: taken
    /// once the catalogs of the returned victims are dropped, or refused with the budget it
    /// did not fit (the reason is decided here, where it is known, not guessed after):
    ///
    /// - larger than `maxBytesPerOrigin`: `overOriginBudget`;
    /// - the sender's own catalogs are dropped first to keep it within `maxBytesPerSender`
    ///   (when `capsSender`; `overSenderBudget` when they are not enough), then any to keep
    ///   the total within `maxLearnedBytes` (`noRoom` when those that may go are not enough);
    /// - origins this node does not talk to directly go first, then the largest, then the
    ///   one closest to expiry. A catalog of an origin that is not direct never makes a
    ///   direct origin's catalog go: it is refused instead.
    ///
    /// The held catalog of the same origin (which it replaces) counts as freed.
    ///
    /// The order for the total is computed once and reused until used up (`evictionOrder`):
    /// a bundle of thousands of catalogs over the budget costs a few sorts, not one sort of
    /// every held catalog per catalog. Catalogs admitted since join at the next computation.
    mutating func budgetDecision(
        for catalog: ModelCatalog, bytes: Int, sender: String, capsSender: Bool = true
    ) -> BudgetDecision {
        guard bytes <= configuration.maxBytesPerOrigin else { return .refuse(.overOriginBudget) }
        let origin = catalog.nodeID
        let replaced = records[origin].flatMap { $0.catalog == nil ? nil : $0 }
        var totalExcess = heldBytes - (replaced?.bytes ?? 0) + bytes - configuration.maxLearnedBytes
        var senderExcess =
            capsSender
            ? heldBytes(deliveredBy: sender) - (replaced?.sender == sender ? replaced?.bytes ?? 0 : 0) + bytes
                - configuration.maxBytesPerSender
            : 0
        guard totalExcess > 0 || senderExcess > 0 else { return .admit(victims: []) }

        let newIsDirect = isDirect(catalog)
        var victims: [String] = []
        var taken = Set<String>()
        if senderExcess > 0 {
            // The sender's own catalogs, in the eviction order.
            var own: [EvictionCandidate] = []
            for (other, record) in records where other != origin && record.sender == sender {
                guard let held = record.catalog else { continue }
                let direct = isDirect(held)
                if direct && !newIsDirect { continue }
                own.append(EvictionCandidate(origin: other, direct: direct, bytes: record.bytes, expiresAtMs: record.expiresAtMs))
            }
            own.sort { $0.goesBefore($1) }
            for candidate in own where senderExcess > 0 {
                victims.append(candidate.origin)
                taken.insert(candidate.origin)
                senderExcess -= candidate.bytes
                totalExcess -= candidate.bytes
            }
            if senderExcess > 0 { return .refuse(.overSenderBudget) }
        }
        // The total, from the reused order (the next victim last); each origin is checked
        // again when its turn comes (still held, still allowed to go).
        while let last = evictionOrder.last, records[last]?.catalog == nil { evictionOrder.removeLast() }
        var index = evictionOrder.count - 1
        var rebuilt = false
        while totalExcess > 0 {
            if index < 0 {
                if rebuilt { break }
                rebuildEvictionOrder()
                rebuilt = true
                index = evictionOrder.count - 1
                continue
            }
            let other = evictionOrder[index]
            index -= 1
            guard other != origin, !taken.contains(other), let record = records[other], let held = record.catalog else {
                continue
            }
            if !newIsDirect && isDirect(held) { continue }
            victims.append(other)
            taken.insert(other)
            totalExcess -= record.bytes
        }
        return totalExcess > 0 ? .refuse(.noRoom) : .admit(victims: victims)
    }

    /// Every held catalog in the order they go to make room, the first to go last:
    /// origins not direct first, then the largest, then the one closest to expiry.
    mutating func rebuildEvictionOrder() {
        var candidates: [EvictionCandidate] = []
        candidates.reserveCapacity(records.count)
        for (other, record) in records {
            guard let held = record.catalog else { continue }
            candidates.append(
                EvictionCandidate(origin: other, direct: isDirect(held), bytes: record.bytes, expiresAtMs: record.expiresAtMs))
        }
        candidates.sort { $1.goesBefore($0) }
        evictionOrder = candidates.map(\.origin)
        evictionOrderBuilds += 1
    }
}

/// What the byte budgets make of a catalog (`GossipState.budgetDecision`).
enum BudgetDecision: Equatable {
    /// It fits once the catalogs of these origins are dropped (none: it fits as things are).
    case admit(victims: [String])
    /// It does not fit, for this reason (`overOriginBudget`, `overSenderBudget` or `noRoom`).
    case refuse(CatalogRefusal.Reason)
}

/// A held catalog as the byte budgets weigh it for eviction.
struct EvictionCandidate {
    var origin: String
    var direct: Bool
    var bytes: Int
    var expiresAtMs: Int64

    /// Whether this one is dropped before `other`.
    func goesBefore(_ other: EvictionCandidate) -> Bool {
        if direct != other.direct { return !direct }
        if bytes != other.bytes { return bytes > other.bytes }
        if expiresAtMs != other.expiresAtMs { return expiresAtMs < other.expiresAtMs }
        return origin < other.origin
    }
}
