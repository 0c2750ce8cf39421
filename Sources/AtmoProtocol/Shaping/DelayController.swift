/// The rate of a background transfer, from the round trips to its peer: a delay-based
/// controller in the spirit of LEDBAT (RFC 6817). Pure; time is passed in as milliseconds.
///
/// - The base delay is the lowest round trip seen over `baseBuckets × baseBucketMs` (RFC
///   6817's base history: the minimum of each period, the oldest period forgotten), so a
///   route that changes is learned again.
/// - The current delay is the lowest of the last `currentSamples` round trips (one late
///   sample is noise, not a queue).
/// - When the current delay is more than `targetDelayMs` (100 ms) above the base, the
///   transfer is filling a queue somewhere on its path: the rate halves (from the lower of
///   the rate and the measured throughput; at first the throughput, since an unthrottled
///   transfer has no rate), at most once per `decreaseHoldMs` or round trip, whichever is
///   longer, so one queue is not answered twice before the first halving could drain it.
/// - Below the target the rate grows back gradually: by `growthPerSecond` of itself per
///   second, in proportion to how far below the target the delay is (a delay at the base
///   grows fastest, one at the target not at all). Once the rate is `releaseFactor` times the
///   measured throughput it no longer holds anything back, and the controller lets go
///   (`rate` nil) until the delay rises again.
public struct DelayController: Sendable, Hashable {
    /// The controller's constants.
    public struct Configuration: Sendable, Hashable {
        /// Queueing delay above the base that halves the rate.
        public var targetDelayMs: Double = 100
        /// The base delay is the minimum over this many periods...
        public var baseBuckets = 10
        /// ...of this length (RFC 6817: 10 of one minute).
        public var baseBucketMs: Int64 = 60_000
        /// The current delay is the minimum of this many latest samples.
        public var currentSamples = 4
        /// Fraction of the rate added per second when the delay is at the base.
        public var growthPerSecond: Double = 0.25
        /// The rate never goes below this, in bytes per second.
        public var minRate: Double = 16 * 1024
        /// At least this long between two halvings.
        public var decreaseHoldMs: Int64 = 1_000
        /// The throughput is measured over periods of this length.
        public var throughputPeriodMs: Int64 = 1_000
        /// A rate this many times the throughput holds nothing back: let go.
        public var releaseFactor: Double = 4

        /// The defaults above.
        public init() {}
    }

    /// The constants in force.
    public let configuration: Configuration
    /// The rate allowed now, in bytes per second; nil while the controller holds nothing back.
    public private(set) var rate: Double?
    /// The lowest round trip of the base history; nil before the first sample.
    public var baseDelayMs: Double? { baseHistory.map(\.minimum).min() }
    /// The current delay above the base; nil before the first sample.
    public private(set) var queueDelayMs: Double?
    /// Bytes per second over the last complete period; nil before one completed.
    public private(set) var throughput: Double?
    /// How many times the rate was halved.
    public private(set) var halvings = 0
    /// Bytes of background transfers admitted through this controller (`sent`), in all.
    public private(set) var bytesSent: Int64 = 0
    /// When a sample or a send last reached the controller.
    public private(set) var lastActivityMs: Int64 = 0

    private var baseHistory: [Bucket] = []
    private var recent: [Double] = []
    private var lastDecreaseMs: Int64?
    private var lastGrowthMs: Int64?
    private var periodStartMs: Int64?
    private var periodBytes: Int64 = 0

    private struct Bucket: Sendable, Hashable {
        var startMs: Int64
        var minimum: Double
    }

    /// A controller that holds nothing back yet.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// `bytes` of the transfer went out (or were admitted) at `nowMs`: the throughput.
    public mutating func sent(_ bytes: Int64, nowMs: Int64) {
        lastActivityMs = max(lastActivityMs, nowMs)
        let (total, overflow) = bytesSent.addingReportingOverflow(max(0, bytes))
        bytesSent = overflow ? .max : total
        guard let start = periodStartMs else {
            periodStartMs = nowMs
            periodBytes = bytes
            return
        }
        let elapsed = nowMs - start
        if elapsed >= configuration.throughputPeriodMs {
            throughput = Double(periodBytes) * 1000 / Double(elapsed)
            periodStartMs = nowMs
            periodBytes = bytes
        } else {
            periodBytes += bytes
        }
    }

    /// A round trip of `rttMs` measured at `nowMs`.
    public mutating func record(rttMs: Double, nowMs: Int64) {
        guard rttMs.isFinite, rttMs >= 0 else { return }
        lastActivityMs = max(lastActivityMs, nowMs)
        if let last = baseHistory.last, nowMs - last.startMs < configuration.baseBucketMs {
            baseHistory[baseHistory.count - 1].minimum = min(last.minimum, rttMs)
        } else {
            baseHistory.append(Bucket(startMs: nowMs, minimum: rttMs))
            if baseHistory.count > max(1, configuration.baseBuckets) { baseHistory.removeFirst() }
        }
        recent.append(rttMs)
        if recent.count > max(1, configuration.currentSamples) { recent.removeFirst() }
        let current = recent.min() ?? rttMs
        let queue = max(0, current - (baseDelayMs ?? current))
        queueDelayMs = queue
        if queue > configuration.targetDelayMs {
            decrease(nowMs: nowMs, roundTripMs: rttMs)
        } else {
            grow(nowMs: nowMs, queueMs: queue)
        }
    }

    private mutating func decrease(nowMs: Int64, roundTripMs: Double) {
        lastGrowthMs = nowMs
        let hold = max(Double(configuration.decreaseHoldMs), roundTripMs)
        if let last = lastDecreaseMs, Double(nowMs - last) < hold { return }
        let measured = throughput ?? currentPeriodRate(nowMs: nowMs)
        guard let from = [rate, measured].compactMap({ $0 }).min() else { return }
        rate = max(configuration.minRate, from / 2)
        lastDecreaseMs = nowMs
        halvings += 1
    }

    private mutating func grow(nowMs: Int64, queueMs: Double) {
        defer { lastGrowthMs = nowMs }
        guard let current = rate, let since = lastGrowthMs, nowMs > since else { return }
        let seconds = min(1, Double(nowMs - since) / 1000)
        let headroom = max(0, (configuration.targetDelayMs - queueMs) / configuration.targetDelayMs)
        let grown = current * (1 + configuration.growthPerSecond * headroom * seconds)
        if let throughput, grown > configuration.releaseFactor * max(throughput, configuration.minRate) {
            rate = nil
        } else {
            rate = grown
        }
    }

    /// The rate of the period under way, once it is a tenth of a period long.
    private func currentPeriodRate(nowMs: Int64) -> Double? {
        guard let start = periodStartMs, nowMs - start >= configuration.throughputPeriodMs / 10 else { return nil }
        return Double(periodBytes) * 1000 / Double(nowMs - start)
    }
}
