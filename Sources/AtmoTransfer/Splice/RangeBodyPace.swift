/// The rules every byte-range answer's body must keep while it arrives, however it is read
/// (`RangeBodyCollector` on NIO, `SplicedRangeConnection` with `splice`): no more bytes
/// than the range, parts that are not cut absurdly fine, and a rate above the throughput
/// floor. Pure: the caller passes the time.
struct RangeBodyPace: Sendable {
    let peer: String
    let rangeLength: Int64
    private(set) var bytes: Int64 = 0
    /// Body parts so far (reads, or chunks of a chunked body).
    private(set) var parts = 0
    private var floor: ThroughputFloor?

    /// `floor`: the least bytes per second over each window, if any.
    init(peer: String, rangeLength: Int64, floor: (bytesPerSecond: Double, windowSeconds: Double)?) {
        self.peer = peer
        self.rangeLength = rangeLength
        self.floor = floor.map { ThroughputFloor(minimumBytesPerSecond: $0.bytesPerSecond, windowSeconds: $0.windowSeconds, start: 0) }
    }

    /// Body parts after which they must average `minimumAveragePartBytes`.
    static let partsBeforeAverage = 256
    /// Each body part costs the same whatever its size (a chunk of a chunked body is one
    /// part): a peer cutting a range into 16-byte chunks made the pull burn ~0.55 CPU-s per
    /// MiB. An honest body's parts are socket reads, at least a TCP segment (over 1 KiB)
    /// each even on a slow link.
    static let minimumAveragePartBytes: Int64 = 1024

    /// Whether a part of `count` bytes may be taken: the error that ends the answer if not.
    /// Checked before the part is kept.
    func admits(_ count: Int) -> TransferError? {
        let total = bytes + Int64(count)
        guard total <= rangeLength else {
            return TransferError(.protocolViolation, "\(peer) sent more bytes than the range it confirmed")
        }
        // The part that completes the range is never held against it.
        guard parts + 1 > Self.partsBeforeAverage, total < rangeLength, total < Int64(parts + 1) * Self.minimumAveragePartBytes else {
            return nil
        }
        return TransferError(
            .protocolViolation,
            "\(peer) sent \(total) bytes of a range in \(parts + 1) parts (under \(Self.minimumAveragePartBytes) bytes each on "
                + "average): a body cut this fine costs more to read than it carries; no longer asked")
    }

    /// Counts a part of `count` bytes taken at `now` (seconds since the answer's head); the
    /// error that ends the answer when the rate fell under the floor.
    mutating func took(_ count: Int, now: Double) -> TransferError? {
        parts += 1
        bytes += Int64(count)
        guard bytes < rangeLength, let rate = floor?.shortfall(received: bytes, now: now) else { return nil }
        let minimum = Int(floor?.minimumBytesPerSecond ?? 0)
        return TransferError(.timeout, "\(peer) is trickling (\(Int(rate)) bytes/s, under the floor of \(minimum))")
    }
}
