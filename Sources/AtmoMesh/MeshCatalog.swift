import AtmoProtocol

/// Everything the mesh offers, merged from the catalogs of its nodes (PROTOCOL-NOTES §1).
///
/// - A node's entries are de-duplicated by `model_id` (the first entry of an id in its
///   catalog wins) and replaced as a whole by a newer catalog of that node.
/// - Entries of several nodes merge into one `MeshModel` per (`model_id`, `sha256`): two
///   hashes under one id are two versions, never mixed.
/// - A node's entries disappear when it has not re-announced them within its TTL
///   (clamped like gossip does), or at once with `remove(nodeID:)`.
/// - A node's `repositories` merge per commit (`repo_id`, `revision`) into `MeshRepository`,
///   whatever id each node offers it under (MeshCatalog+Repositories.swift).
/// - A node's `partial_models` (files it is pulling, each naming its piece manifest) make
///   it a provider with `partial` set; a model offered only by partial holders is still a
///   model of the mesh (pullable from the swarm), with `MeshModel.isComplete` false. A
///   partial entry of an artefact the node also offers whole is left out.
///
/// Pure value type: the node applies catalogs (for example `GossipAction.learned`) and
/// calls `expire(now:)` on its gossip tick.
public struct MeshCatalog: Sendable {
    /// What one node announced.
    struct NodeOffer: Sendable {
        var nodeName: String
        var endpoints: ModelCatalog.TransferEndpoints
        var timestamp: Int64
        var expiresAtMs: Int64
        var entries: [ModelEntry]
        /// The files it is pulling (its `partial_models`, with a piece manifest each).
        var partialEntries: [ModelEntry] = []
        /// The repositories it offers (its `repositories`, one per `model_id`).
        var repositories: [RepositoryEntry] = []
    }

    /// Bounds applied to `ttl_seconds` when computing expiry.
    public let ttlBoundsSeconds: ClosedRange<Int64>
    var offers: [String: NodeOffer] = [:]
    /// Grows when what the model list shows changed (a node's entries, partial entries,
    /// repositories or name; not a catalog merely heard again with a newer timestamp).
    public internal(set) var modelsRevision: UInt64 = 0

    /// An empty mesh catalog; `ttlBoundsSeconds` should match the gossip configuration.
    public init(ttlBoundsSeconds: ClosedRange<Int64> = GossipConfiguration().ttlBoundsSeconds) {
        self.ttlBoundsSeconds = ttlBoundsSeconds
    }

    /// Merges the catalog of a node received at `now`. Returns false (and changes nothing)
    /// when a fresh catalog of that node at least as new is already merged. (A catalog
    /// stamped in the future therefore shadows its node's catalogs only until it expires.)
    @discardableResult
    public mutating func apply(_ catalog: ModelCatalog, now: Int64) -> Bool {
        if let current = offers[catalog.nodeID], current.expiresAtMs > now, current.timestamp >= catalog.timestamp {
            return false
        }
        var seenIDs = Set<String>()
        let entries = catalog.models.filter { seenIDs.insert($0.modelID).inserted }
        let lifetime = GossipConfiguration.lifetimeMs(ttlSeconds: catalog.ttlSeconds, bounds: ttlBoundsSeconds)
        let previous = offers[catalog.nodeID]
        let offer = NodeOffer(
            nodeName: catalog.nodeName, endpoints: catalog.transferEndpoints, timestamp: catalog.timestamp,
            expiresAtMs: now + lifetime, entries: entries, partialEntries: Self.partialEntries(of: catalog, besides: entries),
            repositories: Self.repositories(of: catalog))
        offers[catalog.nodeID] = offer
        if previous?.nodeName != offer.nodeName || previous?.entries != offer.entries
            || previous?.partialEntries != offer.partialEntries || previous?.repositories != offer.repositories
        {
            modelsRevision &+= 1
        }
        return true
    }

    /// The partial entries of `catalog` that count: each naming a piece manifest, one per
    /// (`model_id`, `sha256`), none of an artefact among the node's complete `entries`.
    static func partialEntries(of catalog: ModelCatalog, besides entries: [ModelEntry]) -> [ModelEntry] {
        guard !catalog.partialModels.isEmpty else { return [] }
        var seen = Set(entries.map(MeshModel.Key.init(entry:)))
        return catalog.partialModels.prefix(WireLimits.maxPartialModelsPerCatalog).filter { entry in
            entry.manifestReference != nil && seen.insert(MeshModel.Key(entry: entry)).inserted
        }
    }

    /// Forgets every entry of `nodeID` (it said goodbye, or stopped answering probes).
    /// Returns whether the node was known.
    @discardableResult
    public mutating func remove(nodeID: String) -> Bool {
        guard offers.removeValue(forKey: nodeID) != nil else { return false }
        modelsRevision &+= 1
        return true
    }

    /// Forgets the nodes that did not re-announce within their TTL; returns their ids, sorted.
    @discardableResult
    public mutating func expire(now: Int64) -> [String] {
        let expired = offers.compactMap { $0.value.expiresAtMs <= now ? $0.key : nil }.sorted()
        for nodeID in expired { offers[nodeID] = nil }
        if !expired.isEmpty { modelsRevision &+= 1 }
        return expired
    }

    /// The ids of the nodes whose catalogs are merged, sorted.
    public var nodeIDs: [String] { offers.keys.sorted() }

    /// Every model of the mesh, one per (`model_id`, `sha256`), sorted by id then hash;
    /// providers sorted by node id.
    public var models: [MeshModel] { merged { _ in true } }

    /// The models whose entries (as announced by at least one node) satisfy `include`,
    /// merged per (`model_id`, `sha256`) and sorted; providers sorted by node id.
    /// The entry shown is the first complete provider's (by node id), else the first
    /// partial holder's.
    func merged(where include: (ModelEntry) -> Bool) -> [MeshModel] {
        typealias Announcement = (nodeID: String, entry: ModelEntry, partial: Bool)
        var grouped: [MeshModel.Key: [Announcement]] = [:]
        for (nodeID, offer) in offers {
            for entry in offer.entries where include(entry) {
                grouped[MeshModel.Key(entry: entry), default: []].append((nodeID, entry, false))
            }
            for entry in offer.partialEntries where include(entry) {
                grouped[MeshModel.Key(entry: entry), default: []].append((nodeID, entry, true))
            }
        }
        return grouped.map { key, announcements in
            let sorted = announcements.sorted { $0.nodeID < $1.nodeID }
            let providers = sorted.compactMap { announcement -> MeshModel.Provider? in
                guard let offer = offers[announcement.nodeID] else { return nil }
                return MeshModel.Provider(
                    nodeID: announcement.nodeID, nodeName: offer.nodeName, endpoints: offer.endpoints,
                    sizeBytes: announcement.entry.sizeBytes, announcedAt: offer.timestamp, partial: announcement.partial)
            }
            let shown = sorted.first { !$0.partial } ?? sorted[0]
            return MeshModel(key: key, entry: shown.entry, providers: providers)
        }.sorted { $0.key < $1.key }
    }
}

/// One artefact of the mesh: a (`model_id`, `sha256`) and the nodes offering it.
public struct MeshModel: Sendable, Hashable, Identifiable {
    /// The identity of an artefact: its id and the hash of its bytes.
    public struct Key: Sendable, Hashable, Comparable {
        /// `model_id`.
        public var modelID: String
        /// Lowercase hex SHA-256 of the whole file.
        public var sha256: String

        /// The key of version `sha256` of `modelID`.
        public init(modelID: String, sha256: String) {
            self.modelID = modelID
            self.sha256 = sha256
        }

        /// The key of `entry`'s artefact.
        public init(entry: ModelEntry) {
            self.init(modelID: entry.modelID, sha256: entry.sha256)
        }

        public static func < (lhs: Key, rhs: Key) -> Bool {
            (lhs.modelID, lhs.sha256) < (rhs.modelID, rhs.sha256)
        }
    }

    /// A node offering the artefact.
    public struct Provider: Sendable, Hashable {
        /// The node's `node_id`.
        public var nodeID: String
        /// The node's `node_name`.
        public var nodeName: String
        /// How to reach it for the transfer.
        public var endpoints: ModelCatalog.TransferEndpoints
        /// `size_bytes` as this node announced it (a node announcing another size for the
        /// same hash is wrong or lying; the download's hash check catches either).
        public var sizeBytes: Int64
        /// `timestamp` of the catalog that announced it (ms).
        public var announcedAt: Int64
        /// Whether the node is still pulling it (listed in its `partial_models`): it serves
        /// the pieces it holds, which its `/v1/pieces/{sha256}/have` tells.
        public var partial: Bool = false
    }

    /// Id and hash.
    public var key: Key
    /// The entry as announced by the first provider (by node id): name, type, format...
    public var entry: ModelEntry
    /// The nodes offering it, by node id (partial holders among them).
    public var providers: [Provider]

    public var id: Key { key }

    /// Whether at least one node holds it whole; false when only partial holders offer it
    /// (it can still be pulled from them, piece by piece).
    public var isComplete: Bool { providers.contains { !$0.partial } }
}
