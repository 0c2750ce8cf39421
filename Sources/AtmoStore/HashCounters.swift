import Synchronization

/// Bytes hashed and time spent hashing by one inventory (its files' first hashes and
/// manifests), for the node's metrics: `rate()` of both gives the hash throughput. Cheap:
/// one lock per file hashed.
public final class HashCounters: Sendable {
    /// The totals since the inventory was created.
    public struct Totals: Sendable, Equatable {
        public var files = 0
        public var bytes: Int64 = 0
        public var seconds: Double = 0
    }

    private let totals = Mutex(Totals())

    public init() {}

    public var snapshot: Totals { totals.withLock { $0 } }

    /// One file of `bytes` hashed, which took since `start`.
    package func record(bytes: Int64, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        totals.withLock {
            $0.files += 1
            $0.bytes += max(0, bytes)
            $0.seconds += max(0, seconds)
        }
    }
}
