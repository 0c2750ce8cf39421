import AtmoProtocol

/// A peer's catalog this node refused for its size (the byte budgets of docs/MESH.md,
/// "Memory"): what a warning about it says.
public struct CatalogRefusal: Sendable, Hashable {
    public enum Reason: String, Sendable, Hashable, CaseIterable {
        /// Larger than `maxBytesPerOrigin` by itself.
        case overOriginBudget = "over_origin_budget"
        /// Its sender pushed more than `maxBytesPerSender` unasked.
        case overSenderBudget = "over_sender_budget"
        /// No room within `maxLearnedBytes` without dropping a direct peer's catalog.
        case noRoom = "no_room"
        /// The catalog was taken, but entries of it were refused when it was read (a
        /// repository of more than `WireLimits.maxFilesPerRepository` files, a hostile path...).
        case entriesRefused = "entries_refused"
    }

    /// The catalog's node id (as it claims it).
    public var origin: String
    /// The catalog's size as held (`heldSize`) and the budget it did not fit.
    public var bytes: Int
    public var budget: Int
    public var reason: Reason
    /// Who delivered it (a pushing address, `pull:{peer}`, `relay:{id}`).
    public var sender: String
    /// Refusals not noticed since the last notice because too many came at once.
    public var unnoticedBefore = 0
    /// `entriesRefused`: how many entries, and the first one's reason (printable, cut short).
    public var entries = 0
    public var detail = ""

    /// What happened, for a person reading the node's log.
    public var summary: String {
        switch reason {
        case .overOriginBudget:
            return "the catalog of \(origin) (\(bytes) bytes) is larger than the \(budget) bytes this node holds of one node: "
                + "its models and repositories stay out of the mesh view (a repository of many thousand files?)"
        case .overSenderBudget:
            return "\(sender) delivered more than the \(budget) bytes of catalogs this node takes from one sender unasked: "
                + "the catalog of \(origin) (\(bytes) bytes) was refused"
        case .entriesRefused:
            return "\(entries) entries of the catalog of \(origin) were refused (\(detail)); they stay out of the mesh view"
        case .noRoom:
            return "no room for the catalog of \(origin) (\(bytes) bytes) within the \(budget) bytes of catalogs this node holds "
                + "without dropping a direct peer's"
        }
    }
}

/// When a refusal is worth a notice (a warning of the node): once per origin per
/// `interval`, and at most `maxPerInterval` notices per interval in all, so that a peer
/// pushing oversized catalogs of invented origins makes a few lines, not a flood. Pure:
/// time comes in, notices come out (`GossipState.takeRefusalNotices`). Every refusal, noticed
/// or not, also waits for `GossipState.takeRefusals` (the node's memory of refusals), the
/// latest `maxKept` of them.
public struct CatalogRefusalNotices: Sendable {
    /// 10 minutes.
    public static let interval: Int64 = 10 * 60 * 1000
    public static let maxPerInterval = 16
    /// Most refusals kept between two `takeAll` calls (the oldest go first).
    public static let maxKept = 256

    /// Refusals by reason since the node started (noticed or not).
    public private(set) var counts: [CatalogRefusal.Reason: Int] = [:]
    private var lastNoticeMs: [String: Int64] = [:]
    private var windowStartMs: Int64 = .min
    private var noticesInWindow = 0
    private var unnoticed = 0
    private var pending: [CatalogRefusal] = []
    private var all: [CatalogRefusal] = []

    public init() {}

    /// Counts `refusal`, and queues a notice of it unless its origin had one within
    /// `interval` or `maxPerInterval` were given in the current interval.
    mutating func refused(_ refusal: CatalogRefusal, now: Int64) {
        counts[refusal.reason, default: 0] += 1
        // Trimmed in batches, not shifted once per refusal: `takeAll` returns the latest `maxKept`.
        if all.count >= 2 * Self.maxKept { all.removeFirst(all.count - Self.maxKept) }
        all.append(refusal)
        if windowStartMs == .min || now - windowStartMs >= Self.interval {
            windowStartMs = now
            noticesInWindow = 0
            // Origins noticed before this interval may be noticed again.
            lastNoticeMs = lastNoticeMs.filter { now - $0.value < Self.interval }
        }
        let key = refusal.origin + "|" + refusal.reason.rawValue
        if let last = lastNoticeMs[key], now - last < Self.interval { return }
        guard noticesInWindow < Self.maxPerInterval else {
            unnoticed += 1
            return
        }
        noticesInWindow += 1
        lastNoticeMs[key] = now
        var notice = refusal
        notice.unnoticedBefore = unnoticed
        unnoticed = 0
        pending.append(notice)
    }

    /// The notices queued since the last call.
    mutating func take() -> [CatalogRefusal] {
        defer { pending = [] }
        return pending
    }

    /// Every refusal since the last call (the latest `maxKept`), noticed or not.
    mutating func takeAll() -> [CatalogRefusal] {
        defer { all = [] }
        return Array(all.suffix(Self.maxKept))
    }
}

extension GossipState {
    /// The refusals to warn about since the last call (`CatalogRefusalNotices`).
    public mutating func takeRefusalNotices() -> [CatalogRefusal] { refusalNotices.take() }

    /// Every refusal since the last call, noticed or not (the latest
    /// `CatalogRefusalNotices.maxKept`): what the node remembers of refused catalogs.
    public mutating func takeRefusals() -> [CatalogRefusal] { refusalNotices.takeAll() }

    /// Refusals for size by reason since the start.
    public var refusalCounts: [CatalogRefusal.Reason: Int] { refusalNotices.counts }

    /// Records that `catalog`, taken, came with entries refused when it was read.
    mutating func refusedEntries(of catalog: ModelCatalog, bytes: Int, sender: String, now: Int64) {
        guard let first = catalog.rejectedModels.first else { return }
        // The reason may quote what the peer sent: printable characters only, cut short.
        let printable = String(
            String.UnicodeScalarView(first.description.unicodeScalars.map { $0.value >= 0x20 && $0.value < 0x7F ? $0 : "?" }))
        var refusal = CatalogRefusal(origin: catalog.nodeID, bytes: bytes, budget: 0, reason: .entriesRefused, sender: sender)
        refusal.entries = catalog.rejectedModels.count
        refusal.detail = String(printable.prefix(200))
        refusalNotices.refused(refusal, now: now)
    }

    /// Records that `catalog` (`bytes` as held, delivered by `sender`) did not fit the byte
    /// budgets for `reason` (as `budgetDecision` decided it), with the budget it did not fit.
    mutating func refusedForSize(_ catalog: ModelCatalog, bytes: Int, sender: String, reason: CatalogRefusal.Reason, now: Int64) {
        refusalNotices.refused(
            CatalogRefusal(
                origin: catalog.nodeID, bytes: bytes, budget: budget(refusedFor: reason), reason: reason, sender: sender),
            now: now)
    }

    /// The byte budget a catalog refused for `reason` did not fit (0: not a budget's).
    func budget(refusedFor reason: CatalogRefusal.Reason) -> Int {
        switch reason {
        case .overOriginBudget: return configuration.maxBytesPerOrigin
        case .overSenderBudget: return configuration.maxBytesPerSender
        case .noRoom: return configuration.maxLearnedBytes
        case .entriesRefused: return 0
        }
    }
}
