/// Model updates (the seed's "model versioning & updates"), as a pure state machine: the
/// ids a node follows, the versions it holds and the versions the mesh offers go in; one
/// action per followed id comes out: pull a newer version (mode `auto`, at normal
/// priority), show it (mode `prompt`), or nothing and why. No I/O, time passed in.
///
/// Which version is newer (docs/PROTOCOL.md, "Model updates"):
/// 1. Both `version`s ordered (`ModelVersionOrder`: semver, dated such as
///    `2024.02.08.001`, this project's mtime versions): the greater is newer; an offer
///    whose version orders before the installed one is never pulled, however fresh its
///    catalog. Versions from `huggingface` are commit prefixes and never order.
/// 2. Unordered or equal versions: the offer is newer when this node first saw it in the
///    mesh after it installed its version (and after it first saw that version). The time
///    is this node's clock, never a peer's `timestamp`, so a peer re-announcing an old file
///    with a fresh catalog does not make it newer.
///
/// Only versions some node holds whole count; a version a person rolled back from
/// (`Follow.declined`) is never pulled by itself. The state is the first sighting of each
/// version of each followed id, bounded by `maxSightingsPerModel`: a flood of versions
/// fills it and the rest are not recorded (so they cannot be newer by sighting); sightings
/// of versions no longer offered make room first.
public struct UpdatePlanner: Sendable {
    /// Most versions of one id whose first sighting is kept.
    public static let maxSightingsPerModel = 64

    /// First sighting (ms, this node's clock) by model id, then SHA-256.
    private(set) var firstSeen: [String: [String: Int64]] = [:]
    /// Sightings not yet handed to `takeNewSightings`.
    private var unsaved: [Sighting] = []

    /// A planner that remembers `sightings` (read back from the state database).
    public init(sightings: [Sighting] = []) {
        for sighting in sightings where (firstSeen[sighting.modelID]?.count ?? 0) < Self.maxSightingsPerModel {
            firstSeen[sighting.modelID, default: [:]][sighting.sha256] = sighting.firstSeenMs
        }
    }

    /// When this node first saw version `sha256` of `modelID`; nil if not recorded.
    public func firstSeen(modelID: String, sha256: String) -> Int64? { firstSeen[modelID]?[sha256.lowercased()] }

    /// The sightings recorded since the last call (for the node to persist).
    public mutating func takeNewSightings() -> [Sighting] {
        defer { unsaved = [] }
        return unsaved
    }

    /// One action per followed id (sorted by id), at `now` (ms).
    public mutating func plan(
        follows: [Follow], installed: [String: Installed], offers: [Offer], downloading: Set<String>, now: Int64
    ) -> [Action] {
        var followed: [String: Follow] = [:]
        for follow in follows where followed[follow.modelID] == nil { followed[follow.modelID] = follow }
        firstSeen = firstSeen.filter { followed[$0.key] != nil }
        var offered: [String: [String: Offer]] = [:]
        for offer in offers where followed[offer.modelID] != nil {
            if var known = offered[offer.modelID]?[offer.sha256] {
                known.complete = known.complete || offer.complete
                offered[offer.modelID]?[offer.sha256] = known
            } else {
                offered[offer.modelID, default: [:]][offer.sha256] = offer
            }
        }
        for (modelID, versions) in offered { record(modelID: modelID, offered: versions, now: now) }
        return followed.keys.sorted().map { modelID in
            decide(followed[modelID]!, installed: installed[modelID], offered: offered[modelID] ?? [:], downloading: downloading)
        }
    }

    /// Records the first sighting of each offered version, within the bound.
    private mutating func record(modelID: String, offered: [String: Offer], now: Int64) {
        var seen = firstSeen[modelID] ?? [:]
        let fresh = offered.keys.filter { seen[$0] == nil }.sorted()
        guard !fresh.isEmpty else { return }
        if seen.count + fresh.count > Self.maxSightingsPerModel {
            // Versions no longer offered make room, the oldest sighting first.
            let gone = seen.filter { offered[$0.key] == nil }.sorted { ($0.value, $0.key) < ($1.value, $1.key) }
            for (sha, _) in gone.prefix(seen.count + fresh.count - Self.maxSightingsPerModel) { seen[sha] = nil }
        }
        for sha in fresh where seen.count < Self.maxSightingsPerModel {
            seen[sha] = now
            unsaved.append(Sighting(modelID: modelID, sha256: sha, firstSeenMs: now))
        }
        firstSeen[modelID] = seen
    }

    private func decide(_ follow: Follow, installed: Installed?, offered: [String: Offer], downloading: Set<String>) -> Action {
        let modelID = follow.modelID
        if downloading.contains(modelID) { return .ignore(modelID: modelID, .downloading) }
        var best: (offer: Offer, reason: Reason)? = nil
        var declinedNewer = false
        for offer in offered.values where offer.complete && offer.sha256 != installed?.sha256 {
            guard let reason = newerReason(offer, than: installed, modelID: modelID) else { continue }
            if follow.declined.contains(offer.sha256) {
                declinedNewer = true
                continue
            }
            if let current = best, !isBetter((offer, reason), than: current, modelID: modelID) { continue }
            best = (offer, reason)
        }
        guard let best else {
            if declinedNewer { return .ignore(modelID: modelID, .declined) }
            if installed == nil || !offered.values.contains(where: \.complete) { return .ignore(modelID: modelID, .notOffered) }
            return .ignore(modelID: modelID, .upToDate)
        }
        let update = Update(
            modelID: modelID, sha256: best.offer.sha256, version: best.offer.version, sizeBytes: best.offer.sizeBytes,
            installedSHA256: installed?.sha256, installedVersion: installed?.version, reason: best.reason)
        return follow.mode == .auto ? .pull(update) : .prompt(update)
    }

    /// Why `offer` is newer than `installed`; nil when it is not.
    private func newerReason(_ offer: Offer, than installed: Installed?, modelID: String) -> Reason? {
        guard let installed else { return .notInstalled }
        switch Self.order(offer.version, offer.source, installed.version, installed.source) {
        case .newer: return .version
        case .older: return nil
        case .same, .unordered:
            guard let seen = firstSeen(modelID: modelID, sha256: offer.sha256), seen > installed.installedAtMs else { return nil }
            if let installedSeen = firstSeen(modelID: modelID, sha256: installed.sha256), seen <= installedSeen { return nil }
            return .seenLater
        }
    }

    /// Whether candidate `a` is a better update than `b`: one newer by its version before
    /// one newer by sighting only (a flood of unordered versions never outranks a real
    /// release), then the newer version, else the later sighting, else the smaller hash (so
    /// the choice never depends on input order).
    private func isBetter(_ candidate: (Offer, Reason), than current: (offer: Offer, reason: Reason), modelID: String) -> Bool {
        let (a, b) = (candidate.0, current.offer)
        if candidate.1 != current.reason, candidate.1 == .version || current.reason == .version { return candidate.1 == .version }
        switch Self.order(a.version, a.source, b.version, b.source) {
        case .newer: return true
        case .older: return false
        case .same, .unordered:
            let seenA = firstSeen(modelID: modelID, sha256: a.sha256) ?? .min
            let seenB = firstSeen(modelID: modelID, sha256: b.sha256) ?? .min
            if seenA != seenB { return seenA > seenB }
            return a.sha256 < b.sha256
        }
    }

    /// `ModelVersionOrder`, with Hugging Face versions (commit prefixes) never ordered.
    static func order(_ a: String, _ sourceA: String?, _ b: String, _ sourceB: String?) -> ModelVersionOrder {
        if sourceA == "huggingface" || sourceB == "huggingface" { return .unordered }
        return ModelVersionOrder.compare(a, b)
    }
}
