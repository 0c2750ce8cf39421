/// Every bucket a node's transfers draw from, and the delay controllers of its background
/// transfers: the pure part of the node's shaper (time passed in as nanoseconds).
///
/// A write of `bytes` reserves them (`reserve`) from each bucket that applies, and waits
/// for the longest of their debts:
/// - the node-wide bucket of its direction (`BandwidthLimits.up`/`down`);
/// - its peer's bucket (`peers[peer]`, else `perPeer`);
/// - the size-class bucket of its peer and its model's class (`sizeClassPolicy`), so each
///   transfer of a large model trickles at its class rate;
/// - for a background transfer, the bucket of its peer's `DelayController` while that holds
///   the rate back.
/// Buckets hold `burstSeconds` of their rate; a write larger than what is saved goes into
/// debt and waits as a whole. Buckets that are full again are the same as new ones and are
/// dropped once there are more than `maxKeys` of them, so hostile peer names cannot grow
/// the state without bound.
package struct ShapingState: Sendable {
    /// A peer in one direction.
    package struct PeerKey: Sendable, Hashable {
        package var peer: String
        package var direction: TransferDirection
        package init(_ peer: String, _ direction: TransferDirection) {
            self.peer = peer
            self.direction = direction
        }
    }

    private struct ClassKey: Sendable, Hashable {
        var peer: PeerKey
        var classIndex: Int
    }

    /// The limits in force.
    package private(set) var limits: BandwidthLimits
    /// The constants of new delay controllers.
    package var controllerConfiguration = DelayController.Configuration()
    private var nodeBuckets: [TransferDirection: TokenBucket] = [:]
    private var peerBuckets: [PeerKey: TokenBucket] = [:]
    private var classBuckets: [ClassKey: TokenBucket] = [:]
    private var adaptiveBuckets: [PeerKey: TokenBucket] = [:]
    private(set) var controllers: [PeerKey: DelayController] = [:]

    /// Seconds of its rate a bucket saves up.
    package static let burstSeconds = 0.1
    /// Buckets (or controllers) of one kind kept before idle ones are dropped.
    package static let maxKeys = 4096
    /// A controller idle for this long is forgotten once there are too many.
    package static let controllerIdleNs: Int64 = 60_000_000_000

    /// The state for `limits`, at `now`.
    package init(limits: BandwidthLimits, now: Int64) {
        self.limits = limits
        setLimits(limits, now: now)
    }

    /// New limits from `now` on. Buckets whose rate changed keep what they saved or owe.
    package mutating func setLimits(_ limits: BandwidthLimits, now: Int64) {
        self.limits = limits
        for direction in TransferDirection.allCases {
            Self.apply(limits.rate(direction).bytesPerSecond, to: &nodeBuckets[direction], now: now)
        }
        for key in Array(peerBuckets.keys) {
            Self.apply(limits.peerRate(key.peer, key.direction).bytesPerSecond, to: &peerBuckets[key], now: now)
        }
        for key in Array(classBuckets.keys) {
            let rate =
                limits.sizeClassPolicy.classes.indices.contains(key.classIndex)
                ? limits.sizeClassPolicy.classes[key.classIndex].rate.bytesPerSecond : nil
            Self.apply(rate, to: &classBuckets[key], now: now)
        }
    }

    /// Reserves `bytes` in `direction` with `peer` for a model of `modelSize` bytes at
    /// `now`; returns how many nanoseconds to wait before sending (0: at once).
    package mutating func reserve(
        _ bytes: Int64, direction: TransferDirection, peer: String, modelSize: Int64?, background: Bool, now: Int64
    ) -> Int64 {
        let amount = Double(max(0, bytes))
        var wait: Int64 = 0
        if let rate = limits.rate(direction).bytesPerSecond {
            wait = max(wait, Self.reserve(amount, in: &nodeBuckets[direction], rate: rate, now: now))
        }
        let key = PeerKey(peer, direction)
        if let rate = limits.peerRate(peer, direction).bytesPerSecond {
            if peerBuckets[key] == nil { Self.prune(&peerBuckets, now: now) }
            wait = max(wait, Self.reserve(amount, in: &peerBuckets[key], rate: rate, now: now))
        }
        let policy = limits.sizeClassPolicy
        if let index = policy.classIndex(forModelSize: modelSize), let rate = policy.classes[index].rate.bytesPerSecond {
            let classKey = ClassKey(peer: key, classIndex: index)
            if classBuckets[classKey] == nil { Self.prune(&classBuckets, now: now) }
            wait = max(wait, Self.reserve(amount, in: &classBuckets[classKey], rate: rate, now: now))
        }
        if background {
            if controllers[key] == nil { pruneControllers(now: now) }
            controllers[key, default: DelayController(configuration: controllerConfiguration)].sent(Int64(amount), nowMs: now / 1_000_000)
            if let rate = controllers[key]?.rate {
                wait = max(wait, Self.reserve(amount, in: &adaptiveBuckets[key], rate: rate, now: now))
            } else {
                adaptiveBuckets[key] = nil
            }
        }
        return wait
    }

    /// A round trip of `rttMs` to `peer` measured by a transfer in `direction` at `now`;
    /// only background transfers' controllers use it (one is made if need be).
    package mutating func recordRoundTrip(_ rttMs: Double, peer: String, direction: TransferDirection, now: Int64) {
        let key = PeerKey(peer, direction)
        if controllers[key] == nil { pruneControllers(now: now) }
        controllers[key, default: DelayController(configuration: controllerConfiguration)].record(rttMs: rttMs, nowMs: now / 1_000_000)
    }

    /// The delay controller of `peer` in `direction`, if a background transfer or a round
    /// trip made one.
    package func controller(peer: String, direction: TransferDirection) -> DelayController? {
        controllers[PeerKey(peer, direction)]
    }

    /// The background rates the controllers hold now (peer and direction to bytes per second).
    package var adaptiveRates: [PeerKey: Double] {
        controllers.compactMapValues(\.rate)
    }

    /// How many per-peer buckets and delay controllers are held (bounded by `maxKeys`).
    package var peerBucketCount: Int { peerBuckets.count }
    /// See `peerBucketCount`.
    package var controllerCount: Int { controllers.count }

    /// The lowest rate a write in `direction` with `peer` for `modelSize` is held to, or nil.
    package func slowestRate(direction: TransferDirection, peer: String, modelSize: Int64?, background: Bool) -> Double? {
        let rates = [
            limits.rate(direction).bytesPerSecond, limits.peerRate(peer, direction).bytesPerSecond,
            limits.sizeClassPolicy.rate(forModelSize: modelSize).bytesPerSecond,
            background ? controllers[PeerKey(peer, direction)]?.rate : nil,
        ]
        return rates.compactMap { $0 }.min()
    }

    private static func reserve(_ amount: Double, in bucket: inout TokenBucket?, rate: Double, now: Int64) -> Int64 {
        apply(rate, to: &bucket, now: now)
        return bucket?.reserve(amount, now: now) ?? 0
    }

    /// Makes `bucket` fit `rate` (nil: no bucket).
    private static func apply(_ rate: Double?, to bucket: inout TokenBucket?, now: Int64) {
        guard let rate else {
            bucket = nil
            return
        }
        let capacity = rate * burstSeconds
        if let current = bucket {
            if current.rate != rate { bucket?.change(rate: rate, capacity: capacity, now: now) }
        } else {
            bucket = TokenBucket(rate: rate, capacity: capacity, now: now)
        }
    }

    private static func prune<Key>(_ buckets: inout [Key: TokenBucket], now: Int64) {
        guard buckets.count >= maxKeys else { return }
        buckets = buckets.filter { !$0.value.isFull(now: now) }
        if buckets.count >= maxKeys { buckets.removeAll() }
    }

    private mutating func pruneControllers(now: Int64) {
        guard controllers.count >= Self.maxKeys else { return }
        let nowMs = now / 1_000_000
        controllers = controllers.filter { nowMs - $0.value.lastActivityMs < Self.controllerIdleNs / 1_000_000 }
        if controllers.count >= Self.maxKeys { controllers.removeAll() }
        adaptiveBuckets = adaptiveBuckets.filter { controllers[$0.key] != nil }
    }
}
