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

    /// The origins whose catalogs must be dropped so that `catalog` (of `bytes`, delivered
    /// by `sender`) fits the byte budgets; nil when it cannot fit and is refused:
    ///
    /// - larger than `maxBytesPerOrigin`;
    /// - the sender's own catalogs are dropped first to keep it within `maxBytesPerSender`
    ///   (when `capsSender`), then any to keep the total within `maxLearnedBytes`;
    /// - origins this node does not talk to directly go first, then the largest, then the
    ///   one closest to expiry. A catalog of an origin that is not direct never makes a
    ///   direct origin's catalog go: it is refused instead.
    ///
    /// The held catalog of the same origin (which it replaces) counts as freed.
    func budgetVictims(for catalog: ModelCatalog, bytes: Int, sender: String, capsSender: Bool = true) -> [String]? {
        guard bytes <= configuration.maxBytesPerOrigin else { return nil }
        let origin = catalog.nodeID
        let replaced = records[origin].flatMap { $0.catalog == nil ? nil : $0 }
        var totalExcess = heldBytes - (replaced?.bytes ?? 0) + bytes - configuration.maxLearnedBytes
        var senderExcess =
            capsSender
            ? heldBytes(deliveredBy: sender) - (replaced?.sender == sender ? replaced?.bytes ?? 0 : 0) + bytes
                - configuration.maxBytesPerSender
            : 0
        guard totalExcess > 0 || senderExcess > 0 else { return [] }

        let newIsDirect = isDirect(catalog)
        var candidates: [(origin: String, direct: Bool, bytes: Int, expiresAtMs: Int64, sender: String)] = []
        for (other, record) in records where other != origin {
            guard let held = record.catalog else { continue }
            let direct = isDirect(held)
            if direct && !newIsDirect { continue }
            candidates.append((other, direct, record.bytes, record.expiresAtMs, record.sender))
        }
        candidates.sort { a, b in
            if a.direct != b.direct { return !a.direct }
            if a.bytes != b.bytes { return a.bytes > b.bytes }
            if a.expiresAtMs != b.expiresAtMs { return a.expiresAtMs < b.expiresAtMs }
            return a.origin < b.origin
        }
        var victims: [String] = []
        var taken = Set<String>()
        for candidate in candidates where senderExcess > 0 && candidate.sender == sender {
            victims.append(candidate.origin)
            taken.insert(candidate.origin)
            senderExcess -= candidate.bytes
            totalExcess -= candidate.bytes
        }
        for candidate in candidates where totalExcess > 0 && !taken.contains(candidate.origin) {
            victims.append(candidate.origin)
            totalExcess -= candidate.bytes
        }
        return totalExcess > 0 || senderExcess > 0 ? nil : victims
    }
}
