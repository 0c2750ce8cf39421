import AtmoProtocol

/// The tunables of `GossipState`. Defaults suit a LAN mesh of tens to thousands of nodes;
/// docs/MESH.md explains each choice with the simulation's figures.
public struct GossipConfiguration: Sendable, Hashable {
    /// Peers a node pushes a catalog to: its own on publish, a learned one on relay.
    /// Push gossip that relays each catalog once reaches the fraction x = 1 - e^(-f·x)
    /// of the mesh in one wave, where f is the fanout times the delivery rate, whatever
    /// the mesh's size: fanout 3 reaches ~91 % with 5 % loss, 5 ~99 %, 6 ~99.7 % (see
    /// docs/MESH.md). Default 6, the smallest whose simulated waves reach 99 % as a rule.
    public var fanout: Int
    /// Most links a catalog crosses: the origin sends it with `gossip_hops` 0, each relay
    /// adds one, and a copy is not relayed when the count would reach this limit.
    public var hopLimit: Int
    /// How often a node re-announces its catalog when nothing changed, in milliseconds.
    public var publishIntervalMs: Int64
    /// `ttl_seconds` written into this node's catalogs.
    public var ttlSeconds: Int64
    /// Bounds applied to a received `ttl_seconds` before computing when it expires: a tiny
    /// TTL would make a node forget (and so accept and relay again) a catalog still in
    /// flight; a huge one would keep a departed node's models forever.
    public var ttlBoundsSeconds: ClosedRange<Int64>
    /// How far ahead of this node's clock a catalog's `timestamp` may be. A catalog stamped
    /// further in the future is refused: accepted, it would shadow every genuine catalog of
    /// its origin until the origin's clock caught up.
    public var maxClockSkewMs: Int64
    /// How long the newest timestamp of an origin is remembered after its catalog expired
    /// or its node said goodbye, so a late duplicate is neither accepted nor relayed again.
    public var duplicateMemoryMs: Int64
    /// Most origins remembered (held catalogs and remembered timestamps together).
    public var maxCatalogs: Int
    /// Most model entries held across all learned catalogs.
    public var maxModelsHeld: Int
    /// Most bytes of learned catalogs held in all (their `heldSize`: their compact JSON
    /// plus a charge per string, container and element, at least the memory they hold):
    /// 64 MiB, tens of thousands of realistic catalogs. Over it, catalogs of origins
    /// this node does not talk to directly go first, the largest first.
    public var maxLearnedBytes: Int
    /// Largest catalog of one origin taken (its `heldSize`): 4 MiB, about 5,000 typical entries.
    public var maxBytesPerOrigin: Int
    /// Most bytes held of catalogs one sender delivered (the address that pushed them, or
    /// the peer pulled from): 16 MiB, a quarter of `maxLearnedBytes`, so one host cannot
    /// fill the memory by inventing origins.
    public var maxBytesPerSender: Int
    /// Most peers in the view; peers learned from catalogs beyond it are not added.
    public var maxPeers: Int
    /// Least time between two sends of this node's current catalog to one address as the
    /// answer to a catalog straight from its origin (an introduction), in milliseconds. An
    /// origin that restarts sooner than this after it was sent the catalog is not answered
    /// (it gets it from its join pull or the next publication); a host that makes up
    /// origins claiming some node's address gets at most one push to that node per interval.
    public var introductionAnswerIntervalMs: Int64
    /// When the join pull failed with every known peer, how long to wait before asking
    /// them again, in milliseconds.
    public var pullRetryMs: Int64

    /// A configuration; every parameter has the documented default.
    public init(
        fanout: Int = 6, hopLimit: Int = 8, publishIntervalMs: Int64 = 300_000, ttlSeconds: Int64 = 300,
        ttlBoundsSeconds: ClosedRange<Int64> = 30...3600, maxClockSkewMs: Int64 = 600_000,
        duplicateMemoryMs: Int64 = 600_000, maxCatalogs: Int = 4096, maxModelsHeld: Int = 200_000,
        maxLearnedBytes: Int = 64 << 20, maxBytesPerOrigin: Int = 4 << 20, maxBytesPerSender: Int = 16 << 20,
        maxPeers: Int = 1024, pullRetryMs: Int64 = 5_000, introductionAnswerIntervalMs: Int64 = 15_000
    ) {
        self.fanout = max(1, fanout)
        self.hopLimit = max(1, hopLimit)
        self.publishIntervalMs = max(1000, publishIntervalMs)
        self.ttlSeconds = max(1, ttlSeconds)
        self.ttlBoundsSeconds = max(1, ttlBoundsSeconds.lowerBound)...max(1, ttlBoundsSeconds.upperBound)
        self.maxClockSkewMs = max(0, maxClockSkewMs)
        self.duplicateMemoryMs = max(0, duplicateMemoryMs)
        self.maxCatalogs = max(1, maxCatalogs)
        self.maxModelsHeld = max(1, maxModelsHeld)
        self.maxLearnedBytes = max(1, maxLearnedBytes)
        self.maxBytesPerOrigin = max(1, min(maxBytesPerOrigin, self.maxLearnedBytes))
        self.maxBytesPerSender = max(self.maxBytesPerOrigin, min(maxBytesPerSender, self.maxLearnedBytes))
        self.maxPeers = max(1, maxPeers)
        self.pullRetryMs = max(0, pullRetryMs)
        self.introductionAnswerIntervalMs = max(0, introductionAnswerIntervalMs)
    }

    /// The lifetime, in milliseconds, granted to `catalog` when received: its `ttl_seconds`
    /// clamped to `ttlBoundsSeconds`.
    public func lifetimeMs(of catalog: ModelCatalog) -> Int64 {
        Self.lifetimeMs(ttlSeconds: catalog.ttlSeconds, bounds: ttlBoundsSeconds)
    }

    /// `ttlSeconds` clamped to `bounds`, in milliseconds.
    public static func lifetimeMs(ttlSeconds: Int64, bounds: ClosedRange<Int64>) -> Int64 {
        min(max(ttlSeconds, bounds.lowerBound), bounds.upperBound) * 1000
    }
}

/// What a `GossipState` asks its node to do. The node performs each action and reports
/// the outcome back as an event (`receivePull`, `pullFailed`, `peerUnreachable`).
public enum GossipAction<Peer: Hashable & Sendable>: Sendable, Hashable {
    /// Send `catalog` to `peer`: `POST /v1/catalogs`. Report a failure with
    /// `pushFailed(_:to:now:)`; success needs no report.
    case push(ModelCatalog, to: Peer)
    /// Ask `peer` for every catalog it knows: `GET /v1/catalogs`. Report the answer with
    /// `receivePull(_:from:now:)`, any failure with `pullFailed(from:now:)`.
    case pull(from: Peer)
    /// A catalog newer than anything known of its origin was accepted: merge it (for
    /// example into a `MeshCatalog`).
    case learned(ModelCatalog)
    /// The catalog of `nodeID` expired or its node left: drop its models.
    case forgot(nodeID: String)
}

/// Counters of what a `GossipState` did, for logs, metrics and the simulation.
public struct GossipStatistics: Sendable, Hashable {
    /// Catalogs accepted as new (pushed or pulled).
    public var accepted = 0
    /// Catalogs ignored because one as new or newer from the same origin was already known.
    public var duplicates = 0
    /// Catalogs refused: from the future, claiming to be this node, or without room.
    public var refused = 0
    /// Catalogs relayed (each one counted once, whatever the fanout).
    public var relayed = 0
    /// Held catalogs dropped to stay within `maxCatalogs` / `maxModelsHeld` / the byte budgets.
    public var evicted = 0
    /// Catalogs refused for their size: larger than `maxBytesPerOrigin`, or no room left
    /// within the byte budgets without dropping a catalog of a direct peer.
    public var refusedForSize = 0
    /// Pushes of this node's own catalog (each publish counted once).
    public var published = 0

    /// All counters at zero.
    public init() {}
}
