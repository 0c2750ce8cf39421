import AtmoProtocol

/// The gossip fields this project adds to `model_catalog`. They travel as extra fields,
/// which `ModelCatalog` keeps in `extra` and older peers ignore (and keep when they relay).
extension ModelCatalog {
    /// The wire name of the relay count: how many times this copy has been relayed since
    /// its origin sent it (the origin writes 0).
    public static let gossipHopsField = "gossip_hops"

    /// `gossip_hops` of this copy: nil when absent or not a non-negative whole number
    /// (older peers send none). Setting nil removes the field.
    public var gossipHops: Int? {
        get {
            guard case .number(let value) = extra[Self.gossipHopsField], value >= 0, value.rounded() == value,
                value < 1_000_000
            else { return nil }
            return Int(value)
        }
        set {
            if let newValue {
                extra[Self.gossipHopsField] = .number(Double(max(0, newValue)))
            } else {
                extra[Self.gossipHopsField] = nil
            }
        }
    }

    /// This catalog with `gossip_hops` set to `hops`.
    public func withGossipHops(_ hops: Int?) -> ModelCatalog {
        var copy = self
        copy.gossipHops = hops
        return copy
    }

    /// The copy to send at `nowMs` of a catalog that expires at `expiresAtMs` here:
    /// `ttl_seconds` becomes the remaining lifetime (rounded up, at least 1), so a catalog
    /// passed on, by relay or by a pull, never outlives the original announcement by more
    /// than the receivers' lower TTL bound.
    package func outgoingCopy(hops: Int?, expiresAtMs: Int64, nowMs: Int64) -> ModelCatalog {
        var copy = self
        copy.gossipHops = hops
        let remainingMs = max(0, expiresAtMs - nowMs)
        copy.ttlSeconds = max(1, (remainingMs + 999) / 1000)
        return copy
    }
}

extension HTTPAPI.CatalogBundle {
    /// The size in bytes of a bundle's compact JSON, given the sizes of its catalogs:
    /// `{"catalogs":[` + catalogs separated by commas + `]}` (the simulation's byte counts).
    public static func encodedSize(catalogSizes: [Int]) -> Int {
        15 + catalogSizes.reduce(0, +) + max(0, catalogSizes.count - 1)
    }
}
