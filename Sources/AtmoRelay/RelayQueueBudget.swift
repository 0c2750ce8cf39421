/// The relay's bound on the bytes waiting in all its send queues together, and the rule for
/// whom to drop when a frame would go over it. Pure: the server passes in each queue's
/// backlog and how long it has not drained, and drops (1013) the connections it names.
///
/// Each queue has its own bound too (32 MiB by default); this one caps the sum over every
/// peer of every mesh, so the relay's memory does not grow with the number of peers.
///
/// The slowest peers go first: a queue that has not drained for `stalledAfterMs` belongs to
/// a peer that does not read (or cannot keep up); among those the largest backlog goes
/// first. Only when dropping every stalled queue is not enough are the largest of the
/// others dropped. Dropping stops as soon as the frame fits, or once the frame's own
/// receiver is dropped (its frame is then not queued).
public struct RelayQueueBudget: Sendable, Hashable {
    /// One send queue as the budget sees it.
    public struct Queue: Sendable, Hashable {
        /// The connection the queue writes to.
        public var conn: ConnectionID
        /// Bytes waiting in the queue.
        public var queuedBytes: Int
        /// How long the queue has held frames without its writer taking one, in milliseconds
        /// (0 when it is empty or just drained).
        public var stalledMs: Int64

        /// A queue.
        public init(conn: ConnectionID, queuedBytes: Int, stalledMs: Int64) {
            self.conn = conn
            self.queuedBytes = queuedBytes
            self.stalledMs = stalledMs
        }
    }

    /// The most bytes all send queues may hold together.
    public var maxQueuedBytes: Int
    /// A queue that has not drained for this long counts as a slow peer's.
    public var stalledAfterMs: Int64

    /// A budget of `maxQueuedBytes`.
    public init(maxQueuedBytes: Int, stalledAfterMs: Int64 = 1_000) {
        self.maxQueuedBytes = maxQueuedBytes
        self.stalledAfterMs = stalledAfterMs
    }

    /// Whether `incoming` more bytes fit when the queues hold `totalQueued`.
    public func fits(_ incoming: Int, totalQueued: Int) -> Bool {
        incoming <= maxQueuedBytes - totalQueued
    }

    /// The connections to drop, in order, so that a frame of `incoming` bytes for `receiver`
    /// fits the budget; empty when it fits already. `queues` are every open send queue, and
    /// `totalQueued` their sum (as the server counts it). When the list names `receiver`,
    /// the frame is not queued.
    public func victims(incoming: Int, for receiver: ConnectionID, queues: [Queue], totalQueued: Int) -> [ConnectionID] {
        guard !fits(incoming, totalQueued: totalQueued) else { return [] }
        var remaining = totalQueued
        var dropped: [ConnectionID] = []
        for queue in slowestFirst(queues) where queue.queuedBytes > 0 || queue.conn == receiver {
            dropped.append(queue.conn)
            if queue.conn == receiver { break }
            remaining -= queue.queuedBytes
            if fits(incoming, totalQueued: remaining) { break }
        }
        return dropped
    }

    /// Stalled queues first, then the others; each group by backlog, largest first, and by
    /// connection for equal ones (the oldest connection first: a deterministic order).
    func slowestFirst(_ queues: [Queue]) -> [Queue] {
        queues.sorted { a, b in
            let aStalled = a.stalledMs >= stalledAfterMs
            let bStalled = b.stalledMs >= stalledAfterMs
            if aStalled != bStalled { return aStalled }
            if a.queuedBytes != b.queuedBytes { return a.queuedBytes > b.queuedBytes }
            return a.conn < b.conn
        }
    }
}
