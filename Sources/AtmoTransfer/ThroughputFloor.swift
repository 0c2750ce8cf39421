/// Tells a trickling connection from a slow one.
///
/// The stall timeout catches a connection that sends nothing; a peer that sends a few bytes
/// just before each timeout would hold a piece for ever. Over every window of
/// `windowSeconds` (30 s by default), a piece must receive at least
/// `minimumBytesPerSecond` on average, or it is retried like a stalled one. Pure: the
/// caller passes the time.
public struct ThroughputFloor: Sendable, Equatable {
    public let minimumBytesPerSecond: Double
    public let windowSeconds: Double
    private var windowStart: Double
    private var bytesAtWindowStart: Int64 = 0

    public init(minimumBytesPerSecond: Double, windowSeconds: Double, start: Double) {
        self.minimumBytesPerSecond = minimumBytesPerSecond
        self.windowSeconds = windowSeconds
        windowStart = start
    }

    /// `received` bytes in all at time `now`. Nil while the rate holds; once a window has
    /// ended below the floor, the bytes per second that window managed.
    public mutating func shortfall(received: Int64, now: Double) -> Double? {
        let elapsed = now - windowStart
        guard windowSeconds > 0, elapsed >= windowSeconds else { return nil }
        let rate = Double(received - bytesAtWindowStart) / elapsed
        guard rate >= minimumBytesPerSecond else { return rate }
        windowStart = now
        bytesAtWindowStart = received
        return nil
    }
}
