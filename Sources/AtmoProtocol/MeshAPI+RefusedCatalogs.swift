extension MeshAPI {
    /// **Extension** `refused_catalogs` of `GET /v1/mesh/peers` (docs/PROTOCOL.md): a peer's
    /// catalog this node's gossip refused (too large for a byte budget, entries refused as it
    /// was read, unreadable), the latest refusal of its origin from its sender. Older readers
    /// ignore the field; older nodes never send it.
    public struct RefusedCatalog: Sendable, Hashable, Codable {
        /// The node id the catalog claims; empty when it could not be read at all.
        public var origin: String
        /// Who delivered it: a pushing address, `pull:{base URL}` (this node's pull), `relay:{node id}`.
        public var sender: String
        /// `over_origin_budget`, `over_sender_budget`, `no_room`, `entries_refused`, `unreadable`
        /// (a reader takes any other value as a refusal it does not know).
        public var reason: String
        /// The catalog's size as held (0 when unknown).
        public var bytes: Int
        /// The byte budget it did not fit (nil for `entries_refused` and `unreadable`).
        public var budget: Int?
        /// `entries_refused`, `unreadable`: how many entries (or catalogs) were refused.
        public var entries: Int?
        /// The first refused entry's reason, printable and cut short.
        public var detail: String?
        /// Unix epoch milliseconds of the refusal as this node noticed it.
        public var refusedAt: Int64

        public init(
            origin: String, sender: String, reason: String, bytes: Int, budget: Int? = nil, entries: Int? = nil,
            detail: String? = nil, refusedAt: Int64
        ) {
            self.origin = origin
            self.sender = sender
            self.reason = reason
            self.bytes = bytes
            self.budget = budget
            self.entries = entries
            self.detail = detail
            self.refusedAt = refusedAt
        }

        /// `reason` of a catalog that could not be read at all (invalid, nested too deep).
        public static let unreadable = "unreadable"

        enum CodingKeys: String, CodingKey {
            case origin, sender, reason, bytes, budget, entries, detail, refusedAt = "refused_at"
        }
    }
}
