import AtmoMesh
import AtmoProtocol

/// The catalogs this node's gossip refused lately, for `GET /v1/mesh/peers` and for the hint
/// of a pull that finds no provider: the latest refusal of each origin from each sender, at
/// most `capacity` of them, the oldest dropped first (a hostile mesh can invent endless
/// origins). Pure: refusals and time come in, views come out.
struct CatalogRefusalMemory: Sendable {
    /// Most refusals remembered.
    static let defaultCapacity = 256

    private struct Key: Hashable {
        var origin: String
        var sender: String
    }

    private struct Remembered {
        var refusal: MeshAPI.RefusedCatalog
        /// When a refusal of this origin, sender and reason was last news (`record`).
        var noticedAt: Int64
        /// Order of arrival: the least recently recorded goes first when the memory is full.
        var sequence: UInt64
    }

    let capacity: Int
    private var remembered: [Key: Remembered] = [:]
    private var nextSequence: UInt64 = 0

    init(capacity: Int = Self.defaultCapacity) {
        self.capacity = max(1, capacity)
    }

    var count: Int { remembered.count }

    /// Remembers `refusal`, in place of an earlier one of its origin from its sender, and
    /// drops the least recently recorded refusal when more than `capacity` are held. Returns
    /// whether it is news (no refusal of that origin, sender and reason noticed within
    /// `interval` before): whether a refusal this node saw itself is worth a line of its log.
    @discardableResult
    mutating func record(_ refusal: MeshAPI.RefusedCatalog, interval: Int64 = CatalogRefusalNotices.interval) -> Bool {
        let key = Key(origin: refusal.origin, sender: refusal.sender)
        let earlier = remembered[key]
        let isNews = earlier.map { $0.refusal.reason != refusal.reason || refusal.refusedAt - $0.noticedAt >= interval } ?? true
        remembered[key] = Remembered(
            refusal: refusal, noticedAt: isNews ? refusal.refusedAt : earlier?.noticedAt ?? refusal.refusedAt, sequence: nextSequence)
        nextSequence &+= 1
        if remembered.count > capacity, let oldest = remembered.min(by: { $0.value.sequence < $1.value.sequence })?.key {
            remembered[oldest] = nil
        }
        return isNews
    }

    /// `origin`'s catalog was taken: its refusals for size are no longer why its models are
    /// missing. Refused entries stay (they are left out of the catalog taken).
    mutating func accepted(origin: String) {
        let kept = CatalogRefusal.Reason.entriesRefused.rawValue
        remembered = remembered.filter { $0.key.origin != origin || $0.value.refusal.reason == kept }
    }

    /// Every refusal remembered, newest first.
    var all: [MeshAPI.RefusedCatalog] {
        remembered.values.sorted { $0.sequence > $1.sequence }.map(\.refusal)
    }

    /// The refusals of the last hour before `now` (`RefusedCatalogHint.recentMs`), newest first.
    func recent(now: Int64) -> [MeshAPI.RefusedCatalog] {
        RefusedCatalogHint.recent(all, now: now)
    }

    /// The refusals concerning a peer, newest first: of its catalog (`nodeID` is the origin),
    /// or delivered by it (pulled from `http`, relayed from `nodeID`, or pushed from the host
    /// of `http`: every node of that address shares those).
    func concerning(nodeID: String, http: String?) -> [MeshAPI.RefusedCatalog] {
        Self.concerning(all, nodeID: nodeID, http: http)
    }

    /// Those of `refusals` concerning a peer (`concerning(nodeID:http:)`), in their order.
    static func concerning(_ refusals: [MeshAPI.RefusedCatalog], nodeID: String, http: String?) -> [MeshAPI.RefusedCatalog] {
        var senders: Set<String> = []
        if !nodeID.isEmpty { senders.insert("relay:" + nodeID) }
        if let http {
            senders.insert("pull:" + http)
            senders.insert("pull:" + MeshClient.trimmed(http))
            if let host = Self.host(of: http) { senders.insert(host) }
        }
        return refusals.filter { (!nodeID.isEmpty && $0.origin == nodeID) || senders.contains($0.sender) }
    }

    /// The host of a base URL as a pushing client's address reads (`http://[::1]:7000` gives `::1`).
    static func host(of url: String) -> String? {
        guard let scheme = url.range(of: "://") else { return nil }
        var rest = url[scheme.upperBound...]
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            return String(rest[rest.index(after: rest.startIndex)..<close])
        }
        if let colon = rest.lastIndex(of: ":") { rest = rest[..<colon] }
        return rest.isEmpty ? nil : String(rest)
    }
}

extension MeshAPI.RefusedCatalog {
    /// The view of a refusal the gossip noticed at `now`.
    init(_ refusal: CatalogRefusal, at now: Int64) {
        let entriesRefused = refusal.reason == .entriesRefused
        self.init(
            origin: refusal.origin, sender: refusal.sender, reason: refusal.reason.rawValue, bytes: refusal.bytes,
            budget: entriesRefused ? nil : refusal.budget, entries: entriesRefused ? refusal.entries : nil,
            detail: refusal.detail.isEmpty ? nil : refusal.detail, refusedAt: now)
    }
}
