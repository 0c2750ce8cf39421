import AtmoProtocol

/// The gossip of model catalogs as a pure state machine: events in, `GossipAction`s out,
/// time passed in as Unix epoch milliseconds and randomness from a seeded `SplitMix64`,
/// so a test or a simulation replays exactly.
///
/// - A node publishes its own catalog on `start`, on every inventory change and every
///   `publishIntervalMs`, pushing it to `fanout` random peers.
/// - A catalog newer than what is known of its origin (compared by `timestamp`) is
///   accepted and relayed once, to `fanout` random peers other than its sender and its
///   origin, with `gossip_hops` incremented; a copy whose hops would reach `hopLimit` is
///   not relayed. An (origin, timestamp) is therefore relayed at most once per node, so
///   gossip cannot loop or storm.
/// - A node that starts asks one peer for everything it knows (`GossipAction.pull`).
/// - Learned catalogs expire after their `ttl_seconds` (clamped), checked on `tick`.
/// - What it holds is bounded in count and in bytes: in all, per origin and per sender,
///   strangers' catalogs going before those of direct peers (`GossipState+Budget.swift`).
/// - A node knows who holds its current catalog: a peer it pulled from gets it unless its
///   answer showed it, and a catalog straight from its origin is answered with it.
///
/// `Peer` is how the node addresses another node (a URL, a node id, an index in a
/// simulation); `peerAddress` derives it from a catalog's origin, which is how peers are
/// learned from gossip.
public struct GossipState<Peer: Hashable & Sendable>: Sendable {
    /// What is remembered about one origin.
    struct OriginRecord: Sendable {
        /// The newest timestamp accepted from this origin (the duplicate guard).
        var timestamp: Int64
        /// The catalog, while fresh; nil once expired or after a goodbye.
        var catalog: ModelCatalog?
        var expiresAtMs: Int64
        /// When even the timestamp is forgotten.
        var forgetAtMs: Int64
        /// The catalog's `heldSize` while held (0 once dropped).
        var bytes = 0
        /// Who delivered the held catalog (`GossipState.senderKey`).
        var sender = ""
    }

    enum PullProgress: Sendable {
        case notNeeded
        /// To ask a peer not in `tried`; once every peer was tried, all again from `retryAtMs`.
        case wanted(tried: [Peer], retryAtMs: Int64)
        case inFlight(Peer, tried: [Peer])
    }

    /// The tunables this state machine was made with.
    public let configuration: GossipConfiguration
    /// This node's catalog as last published (timestamp 0 before `start`).
    public internal(set) var ownCatalog: ModelCatalog
    /// What this node did so far.
    public internal(set) var statistics = GossipStatistics()
    /// Catalogs refused for their size, and which of them to warn about (`GossipState+Refusals.swift`).
    var refusalNotices = CatalogRefusalNotices()

    let peerAddress: @Sendable (ModelCatalog) -> Peer?
    var ownPeer: Peer?
    var random: SplitMix64
    var view = PeerView<Peer>()
    var records: [String: OriginRecord] = [:]
    var heldModelCount = 0
    /// `heldSize` of every held catalog, in all and by sender (docs/MESH.md, "Memory").
    public internal(set) var heldBytes = 0
    var bytesBySender: [String: Int] = [:]
    /// Held origins in the order they go when the total byte budget needs room, the next
    /// last (`GossipState+Budget.swift`); computed when used up, checked as it is used.
    var evictionOrder: [String] = []
    /// How often `evictionOrder` was computed (for tests).
    var evictionOrderBuilds = 0
    /// No record expires or is forgotten before this time (skips needless scans).
    var nextDeadlineMs = Int64.max
    var started = false
    var lastPublishMs: Int64 = 0
    var pullProgress = PullProgress.notNeeded
    /// Peers known to hold this node's current catalog, with when (this node's clock) they
    /// were sent it or showed it in a pull answer. Emptied by each publication; only
    /// peers of the view. What decides who still needs the catalog, instead of guessing.
    var ownCatalogHolders: [Peer: Int64] = [:]

    /// A node offering `models`, not yet started.
    ///
    /// - Parameters:
    ///   - peerAddress: how to reach the origin of a catalog (usually from its
    ///     `transfer_endpoints.http`); nil when it cannot be reached directly.
    ///   - random: the source of every random choice.
    public init(
        nodeID: String, nodeName: String, transferEndpoints: ModelCatalog.TransferEndpoints, models: [ModelEntry],
        configuration: GossipConfiguration = GossipConfiguration(), random: SplitMix64,
        peerAddress: @escaping @Sendable (ModelCatalog) -> Peer?
    ) {
        self.configuration = configuration
        self.random = random
        self.peerAddress = peerAddress
        ownCatalog = ModelCatalog(
            nodeID: nodeID, nodeName: nodeName, timestamp: 0, models: models, transferEndpoints: transferEndpoints,
            ttlSeconds: configuration.ttlSeconds)
        ownPeer = peerAddress(ownCatalog)
    }

    /// The peers this node gossips with, in a stable order.
    public var peers: [Peer] { view.all }

    /// Whether the pull of a joining node is still to be answered.
    public var isPullPending: Bool {
        if case .notNeeded = pullProgress { return false }
        return true
    }

    // MARK: - Publishing

    /// The node starts: it publishes its catalog and asks one peer for everything it knows
    /// (as soon as it knows a peer, if it knows none yet).
    public mutating func start(now: Int64) -> [GossipAction<Peer>] {
        guard !started else { return [] }
        started = true
        pullProgress = .wanted(tried: [], retryAtMs: now)
        return publish(now: now) + startPullIfWanted()
    }

    /// The node's inventory changed: publish the new catalog (before `start`, only remember
    /// it). Publishes nothing when `models`, `partialModels` (the files being pulled,
    /// `partial_models`) and `repositories` equal what was published.
    public mutating func inventoryChanged(
        _ models: [ModelEntry], partialModels: [ModelEntry] = [], repositories: [RepositoryEntry] = [], now: Int64
    ) -> [GossipAction<Peer>] {
        guard models != ownCatalog.models || partialModels != ownCatalog.partialModels || repositories != ownCatalog.repositories
        else { return [] }
        ownCatalog.models = models
        ownCatalog.partialModels = partialModels
        ownCatalog.repositories = repositories
        return started ? publish(now: now) : []
    }

    /// The node's transfer endpoints changed (a new port, an address): publish them.
    public mutating func endpointsChanged(_ endpoints: ModelCatalog.TransferEndpoints, now: Int64) -> [GossipAction<Peer>] {
        guard endpoints != ownCatalog.transferEndpoints else { return [] }
        ownCatalog.transferEndpoints = endpoints
        ownPeer = peerAddress(ownCatalog)
        return started ? publish(now: now) : []
    }

    /// Publishes the current catalog now with a new timestamp, whatever the schedule.
    public mutating func republish(now: Int64) -> [GossipAction<Peer>] {
        started ? publish(now: now) : []
    }

    /// Time passes: drops expired catalogs (and the peers learned only from them), forgets
    /// old timestamps, retries a failed join pull, and re-publishes when
    /// `publishIntervalMs` has elapsed.
    public mutating func tick(now: Int64) -> [GossipAction<Peer>] {
        var actions = expire(now: now)
        if case .wanted(_, let retryAt) = pullProgress, now >= retryAt {
            pullProgress = .wanted(tried: [], retryAtMs: now + configuration.pullRetryMs)
            actions += startPullIfWanted()
        }
        if started, now - lastPublishMs >= configuration.publishIntervalMs {
            actions += publish(now: now)
        }
        return actions
    }

    mutating func publish(now: Int64) -> [GossipAction<Peer>] {
        ownCatalog.timestamp = max(now, ownCatalog.timestamp + 1)
        lastPublishMs = now
        statistics.published += 1
        ownCatalogHolders = [:]
        return pushOwnCatalog(to: view.sample(configuration.fanout, excluding: [], using: &random), now: now)
    }

    /// Pushes of the current own catalog to `peers`, remembered as holding it. `hops`:
    /// 0 for news to spread; an answer to one node goes as a last hop (`hopLimit - 1`),
    /// which the receiver learns but does not relay.
    mutating func pushOwnCatalog(to peers: [Peer], hops: Int = 0, now: Int64) -> [GossipAction<Peer>] {
        let copy = ownCatalog.withGossipHops(hops)
        for peer in peers { ownCatalogHolders[peer] = now }
        if ownCatalogHolders.count > 2 * configuration.maxPeers {
            // Peers the view replaced since; what is left is at most the view.
            ownCatalogHolders = ownCatalogHolders.filter { view.contains($0.key) }
        }
        return peers.map { .push(copy, to: $0) }
    }

    /// Whether `peer` was sent (or showed in a pull answer) this node's current catalog
    /// less than `intervalMs` ago, by this node's clock.
    func holdsOwnCatalog(_ peer: Peer, within intervalMs: Int64, now: Int64) -> Bool {
        guard let since = ownCatalogHolders[peer] else { return false }
        return now - since < intervalMs
    }

    // MARK: - Expiry

    mutating func expire(now: Int64) -> [GossipAction<Peer>] {
        guard now >= nextDeadlineMs else { return [] }
        var expired: [String] = []
        var forgotten: [String] = []
        var nextDeadline = Int64.max
        for (origin, record) in records {
            if record.forgetAtMs <= now {
                if record.catalog != nil { expired.append(origin) }
                forgotten.append(origin)
            } else if record.catalog != nil, record.expiresAtMs <= now {
                expired.append(origin)
                nextDeadline = min(nextDeadline, record.forgetAtMs)
            } else {
                nextDeadline = min(nextDeadline, record.catalog == nil ? record.forgetAtMs : record.expiresAtMs)
            }
        }
        nextDeadlineMs = nextDeadline
        expired.sort()
        for origin in expired { dropCatalog(of: origin) }
        for origin in forgotten { records[origin] = nil }
        return expired.map { .forgot(nodeID: $0) }
    }

    /// Turns the record of `origin` into a bare timestamp and removes the peer learned from it.
    mutating func dropCatalog(of origin: String) {
        guard let record = records[origin], let catalog = record.catalog else { return }
        records[origin]?.catalog = nil
        records[origin]?.bytes = 0
        heldModelCount -= catalog.entryCount
        heldBytes -= record.bytes
        let senderBytes = (bytesBySender[record.sender] ?? 0) - record.bytes
        bytesBySender[record.sender] = senderBytes > 0 ? senderBytes : nil
        if let peer = peerAddress(catalog), view.source(of: peer) == .learned(originNodeID: origin) {
            view.remove(peer)
        }
    }

    // MARK: - Queries

    /// Own catalog (once started) and every learned catalog still fresh at `now`, by node id.
    public func freshCatalogs(now: Int64) -> [ModelCatalog] {
        var result = records.values.compactMap { record in record.expiresAtMs > now ? record.catalog : nil }
        if started { result.append(ownCatalog) }
        return result.sorted { $0.nodeID < $1.nodeID }
    }

    /// The answer to `GET /v1/catalogs`: `freshCatalogs`, each with `ttl_seconds` set to
    /// its remaining lifetime here and no `gossip_hops`.
    public func catalogsForPull(now: Int64) -> [ModelCatalog] {
        var result: [ModelCatalog] = []
        for record in records.values {
            guard let catalog = record.catalog, record.expiresAtMs > now else { continue }
            result.append(catalog.outgoingCopy(hops: nil, expiresAtMs: record.expiresAtMs, nowMs: now))
        }
        if started { result.append(ownCatalog) }
        return result.sorted { $0.nodeID < $1.nodeID }
    }

    /// The newest timestamp accepted from `nodeID` (own timestamp for this node), if any.
    public func knownTimestamp(of nodeID: String) -> Int64? {
        nodeID == ownCatalog.nodeID ? (started ? ownCatalog.timestamp : nil) : records[nodeID]?.timestamp
    }

    /// The held catalog of `nodeID`, fresh or not yet dropped by `tick`.
    public func catalog(of nodeID: String) -> ModelCatalog? { records[nodeID]?.catalog }

    /// How many learned catalogs are held.
    public var heldCatalogCount: Int { records.values.reduce(0) { $0 + ($1.catalog == nil ? 0 : 1) } }
}
