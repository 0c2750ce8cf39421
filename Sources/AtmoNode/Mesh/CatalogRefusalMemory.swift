import AtmoMesh
import AtmoProtocol

/// The catalogs this node's gossip refused lately, for `GET /v1/mesh/peers` and for the hint
/// of a pull that finds no provider: the latest refusal of each origin from each sender, at
/// most `perSender` of one sender and `capacity` in all (a hostile mesh can invent endless
/// origins, and one flooding sender must not push the others' refusals out). Pure: refusals
/// and time come in, views come out.
struct CatalogRefusalMemory: Sendable {
    /// Most refusals remembered.
    static let defaultCapacity = 256
    /// Most refusals remembered of one sender.
    static let defaultPerSender = 32

    private struct Key: Hashable {
        var origin: String
        var sender: String
    }

    private struct Remembered {
        var refusal: MeshAPI.RefusedCatalog
        /// When a refusal of this origin, sender and reason was last news (`record`).
        var noticedAt: Int64
        /// Order of arrival: the least recently recorded of a sender goes first.
        var sequence: UInt64
    }

    let capacity: Int
    let perSender: Int
    private var remembered: [Key: Remembered] = [:]
    /// The keys of each sender and of each origin, so that no view or eviction scans them all.
    private var bySender: [String: Set<Key>] = [:]
    private var byOrigin: [String: Set<Key>] = [:]
    private var nextSequence: UInt64 = 0

    init(capacity: Int = Self.defaultCapacity, perSender: Int = Self.defaultPerSender) {
        self.capacity = max(1, capacity)
        self.perSender = max(1, perSender)
    }

    var count: Int { remembered.count }

    /// Remembers `refusal`, in place of an earlier one of its origin from its sender. Over
    /// `perSender` refusals of its sender, that sender's least recently recorded goes; over
    /// `capacity` in all, the least recently recorded of the sender holding the most goes.
    /// Returns whether it is news (no refusal of that origin, sender and reason noticed
    /// within `interval` before): whether a refusal this node saw itself is worth a line of its log.
    @discardableResult
    mutating func record(_ refusal: MeshAPI.RefusedCatalog, interval: Int64 = CatalogRefusalNotices.interval) -> Bool {
        let key = Key(origin: refusal.origin, sender: refusal.sender)
        let earlier = remembered[key]
        let isNews = earlier.map { $0.refusal.reason != refusal.reason || refusal.refusedAt - $0.noticedAt >= interval } ?? true
        remembered[key] = Remembered(
            refusal: refusal, noticedAt: isNews ? refusal.refusedAt : earlier?.noticedAt ?? refusal.refusedAt, sequence: nextSequence)
        nextSequence &+= 1
        bySender[key.sender, default: []].insert(key)
        byOrigin[key.origin, default: []].insert(key)
        if let keys = bySender[key.sender], keys.count > perSender {
            dropOldest(of: keys)
        }
        if remembered.count > capacity, let most = bySender.max(by: { $0.value.count < $1.value.count })?.value {
            dropOldest(of: most)
        }
        return isNews
    }

    private mutating func dropOldest(of keys: Set<Key>) {
        guard let oldest = keys.min(by: { (remembered[$0]?.sequence ?? 0) < (remembered[$1]?.sequence ?? 0) }) else { return }
        forget(oldest)
    }

    private mutating func forget(_ key: Key) {
        guard remembered.removeValue(forKey: key) != nil else { return }
        bySender[key.sender]?.remove(key)
        if bySender[key.sender]?.isEmpty == true { bySender[key.sender] = nil }
        byOrigin[key.origin]?.remove(key)
        if byOrigin[key.origin]?.isEmpty == true { byOrigin[key.origin] = nil }
    }

    /// `origin`'s catalog was taken: its refusals for size are no longer why its models are
    /// missing. Refused entries stay (they are left out of the catalog taken).
    mutating func accepted(origin: String) {
        guard let keys = byOrigin[origin] else { return }
        let kept = CatalogRefusal.Reason.entriesRefused.rawValue
        for key in keys where remembered[key]?.refusal.reason != kept { forget(key) }
    }

    /// The catalogs pulled from `peer` read fine: its earlier `unreadable` refusal is past.
    mutating func readable(pulledFrom peer: String) {
        forget(Key(origin: "", sender: "pull:" + peer))
    }

    /// Every refusal remembered, newest first.
    var all: [MeshAPI.RefusedCatalog] {
        remembered.values.sorted { $0.sequence > $1.sequence }.map(\.refusal)
    }

    /// The refusals of the last hour before `now` (`RefusedCatalogHint.recentMs`), newest first.
    func recent(now: Int64) -> [MeshAPI.RefusedCatalog] {
        RefusedCatalogHint.recent(all, now: now)
    }

    /// The refusals concerning a peer, newest first, at most `limit`: of its catalog
    /// (`nodeID` is the origin), or delivered by it (pulled from `http`, relayed from
    /// `nodeID`). A push is known by its address only, which many nodes may share: pushed
    /// refusals are listed once, at the top level of `GET /v1/mesh/peers`.
    func concerning(nodeID: String, http: String?, limit: Int = .max) -> [MeshAPI.RefusedCatalog] {
        var keys: Set<Key> = []
        if !nodeID.isEmpty {
            keys.formUnion(byOrigin[nodeID] ?? [])
            keys.formUnion(bySender["relay:" + nodeID] ?? [])
        }
        if let http {
            keys.formUnion(bySender["pull:" + http] ?? [])
            keys.formUnion(bySender["pull:" + MeshClient.trimmed(http)] ?? [])
        }
        return keys.compactMap { remembered[$0] }.sorted { $0.sequence > $1.sequence }.prefix(max(0, limit)).map(\.refusal)
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
