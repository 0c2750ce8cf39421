/// The send window of the fast transfer modes, from measurements only (pure; time is passed
/// in as milliseconds).
///
/// The window is `gain × bandwidth × RTT + ack batch` (gain 2), the BBR-style estimate of
/// what the link holds: `bandwidth` is the highest delivery rate sampled over the last
/// `rateFilterRoundTrips` round trips, `RTT` the lowest round-trip time sampled over the last
/// `minRTTFilterMs`, and `ack batch` the most bytes one ack newly covered over the same span
/// as the rate (the receiver acknowledges in batches, so a byte's release waits up to one
/// batch beyond the RTT; BBR's allowance for ack aggregation). It starts at
/// `initialWindowChunks` chunks, stays within `minWindowChunks` chunks ... `maxWindowBytes`,
/// and so follows the link, not the ack latency.
///
/// A window of twice the bandwidth-delay product keeps a queue of about one BDP in front
/// of the link, which inflates later RTT samples; the filtered minimum would then grow once
/// the old minimum expires. So when the minimum has not been confirmed for
/// `minRTTFilterMs`, the estimator drains: the window drops to its floor until a chunk sent
/// after that moment is acknowledged, whose RTT becomes the new minimum (BBR's ProbeRTT).
public struct WindowEstimator: Sendable, Hashable {
    /// The bounds and filter lengths of the estimate.
    public struct Configuration: Sendable, Hashable {
        /// The transfer's chunk size in bytes.
        public var chunkBytes: Int64
        /// The window before any measurement, in chunks.
        public var initialWindowChunks: Int64 = 4
        /// The lowest window, in chunks.
        public var minWindowChunks: Int64 = 2
        /// The highest window, in bytes (default 16 MiB); never below `minWindowChunks` chunks.
        public var maxWindowBytes: Int64 = 16 * 1024 * 1024
        /// The multiplier of the bandwidth-delay product.
        public var gain: Double = 2
        /// The delivery-rate filter keeps samples this many minimum RTTs...
        public var rateFilterRoundTrips: Int64 = 10
        /// ...and at least this long, in milliseconds.
        public var rateFilterMinMs: Int64 = 250
        /// How long a minimum RTT stands before it must be confirmed by a drain.
        public var minRTTFilterMs: Int64 = 10_000
        /// The floor of the resend timeout, in milliseconds.
        public var minResendTimeoutMs: Int64 = 1_000
        /// The resend timeout before any RTT sample, in milliseconds.
        public var initialResendTimeoutMs: Int64 = 3_000
        /// The ceiling of the resend timeout, in milliseconds.
        public var maxResendTimeoutMs: Int64 = 60_000

        /// Defaults for chunks of `chunkBytes` bytes.
        public init(chunkBytes: Int64, maxWindowBytes: Int64 = 16 * 1024 * 1024) {
            self.chunkBytes = max(1, chunkBytes)
            self.maxWindowBytes = maxWindowBytes
        }
    }

    /// One measurement, taken when an ack newly covers a chunk that was sent once.
    public struct Sample: Sendable, Hashable {
        /// From sending that chunk to the ack that covers it.
        public var rttMs: Int64
        /// Bytes acknowledged over `intervalMs` (the BBR delivery-rate sample).
        public var deliveredBytes: Int64
        /// The interval of the rate sample, in milliseconds.
        public var intervalMs: Int64
        /// When that chunk was sent.
        public var sentAtMs: Int64
        /// Bytes the ack newly acknowledged (its batch).
        public var ackedBytes: Int64

        /// A sample; the rate is `deliveredBytes / intervalMs`.
        public init(rttMs: Int64, deliveredBytes: Int64, intervalMs: Int64, sentAtMs: Int64, ackedBytes: Int64 = 0) {
            self.rttMs = rttMs
            self.deliveredBytes = deliveredBytes
            self.intervalMs = intervalMs
            self.sentAtMs = sentAtMs
            self.ackedBytes = ackedBytes
        }
    }

    /// The configuration in force.
    public let configuration: Configuration
    /// The lowest RTT of the filter (ms); nil before the first sample.
    public private(set) var minRTTMs: Int64?
    /// The smoothed RTT (ms, RFC 6298 weights); nil before the first sample.
    public private(set) var smoothedRTTMs: Double?
    /// Whether the window is at its floor to measure the RTT without a queue.
    public private(set) var isDrainingForRTT = false
    private var minRTTStampMs: Int64 = 0
    private var drainStartedMs: Int64 = 0
    private var rates = WindowedMax()
    private var ackBatches = WindowedMax()

    /// An estimator with no measurement yet.
    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// The highest delivery rate of the filter, in bytes per millisecond (= kB/s); nil before
    /// the first sample.
    public var maxDeliveryRate: Double? { rates.maximum }

    /// The most bytes one ack newly covered over the rate filter's span; 0 before the first sample.
    public var maxAckBatchBytes: Int64 { Int64(ackBatches.maximum ?? 0) }

    /// The window floor in bytes.
    public var minWindowBytes: Int64 { configuration.minWindowChunks * configuration.chunkBytes }

    /// The send window in bytes: how many bytes may be unacknowledged.
    public var windowBytes: Int64 {
        let floor = minWindowBytes
        let ceiling = max(floor, configuration.maxWindowBytes)
        if isDrainingForRTT { return floor }
        guard let rate = maxDeliveryRate, let rtt = minRTTMs else {
            return min(ceiling, max(floor, configuration.initialWindowChunks * configuration.chunkBytes))
        }
        let estimate = configuration.gain * rate * Double(max(1, rtt)) + Double(maxAckBatchBytes)
        guard estimate.isFinite, estimate < Double(ceiling) else { return ceiling }
        return max(floor, Int64(estimate.rounded()))
    }

    /// The resend timeout: `max(minResendTimeoutMs, 4 × smoothed RTT)`, or
    /// `initialResendTimeoutMs` before any sample; at most `maxResendTimeoutMs`.
    public var resendTimeoutMs: Int64 {
        guard let smoothedRTTMs else { return configuration.initialResendTimeoutMs }
        let timeout = max(Double(configuration.minResendTimeoutMs), 4 * smoothedRTTMs)
        return min(configuration.maxResendTimeoutMs, Int64(timeout.rounded(.up)))
    }

    /// Takes a measurement at `nowMs`.
    public mutating func record(_ sample: Sample, nowMs: Int64) {
        let rtt = max(0, sample.rttMs)
        smoothedRTTMs = smoothedRTTMs.map { 0.875 * $0 + 0.125 * Double(rtt) } ?? Double(rtt)
        recordRTT(rtt, sentAtMs: sample.sentAtMs, nowMs: nowMs)
        let span = max(configuration.rateFilterMinMs, configuration.rateFilterRoundTrips * (minRTTMs ?? 0))
        if sample.intervalMs > 0, sample.deliveredBytes > 0 {
            rates.record(Double(sample.deliveredBytes) / Double(sample.intervalMs), nowMs: nowMs, spanMs: span)
        }
        if sample.ackedBytes > 0 { ackBatches.record(Double(sample.ackedBytes), nowMs: nowMs, spanMs: span) }
    }

    private mutating func recordRTT(_ rtt: Int64, sentAtMs: Int64, nowMs: Int64) {
        if isDrainingForRTT {
            // Only a chunk sent after the drain began crossed an empty queue.
            guard sentAtMs >= drainStartedMs else { return }
            isDrainingForRTT = false
            minRTTMs = rtt
            minRTTStampMs = nowMs
            return
        }
        if let current = minRTTMs, rtt > current {
            if nowMs - minRTTStampMs > configuration.minRTTFilterMs {
                isDrainingForRTT = true
                drainStartedMs = nowMs
            }
            return
        }
        minRTTMs = rtt
        minRTTStampMs = nowMs
    }

}

/// The maximum of the values recorded over the last `spanMs`: a monotonic queue (newest
/// last, values decreasing), bounded in length.
private struct WindowedMax: Sendable, Hashable {
    private var samples: [Sample] = []
    private static let maxSamples = 256

    private struct Sample: Sendable, Hashable {
        var timeMs: Int64
        var value: Double
    }

    var maximum: Double? { samples.first?.value }

    mutating func record(_ value: Double, nowMs: Int64, spanMs: Int64) {
        samples.removeAll { nowMs - $0.timeMs > spanMs }
        while let last = samples.last, last.value <= value { samples.removeLast() }
        samples.append(Sample(timeMs: nowMs, value: value))
        if samples.count > Self.maxSamples { samples.removeFirst(samples.count - Self.maxSamples) }
    }
}
