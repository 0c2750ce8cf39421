/// The rate of a background transfer, from the round trips to its peer: a delay-based
/// controller in the spirit of LEDBAT (RFC 6817). Pure; time is passed in as milliseconds.
///
/// - The base delay is the lowest round trip seen over `baseBuckets × baseBucketMs` (RFC
///   6817's base history: the minimum of each period, the oldest period forgotten), so a
///   route that changes is learned again.
/// - The current delay is the lowest of the last `currentSamples` (2) round trips (one late
///   sample is noise, not a queue; with one sample per 256 KiB chunk, more would see a
///   queue too late).
/// - When the current delay is more than `targetDelayMs` (100 ms) above the base, the
///   transfer is filling a queue somewhere on its path: the rate halves (from the lower of
///   the rate and the measured throughput; at first the throughput, since an unthrottled
///   transfer has no rate), at most once per `decreaseHoldMs` or round trip, whichever is
///   longer, so one queue is not answered twice before the first halving could drain it.
/// - Below the target the rate grows back gradually: by `growthPerSecond` of itself per
///   second, in proportion to how far the delay is below `growthStopFraction` of the target
///   (a delay at the base grows fastest, one at half the target not at all). Growth looks at
///   the newest sample too (`growOnLatestSample`): a queue the filter has not confirmed yet
///   already stops it, so the rate does not keep climbing past the link while the filter
///   waits. Between half the target and the target (`easesAboveGrowthStop`), the rate
///   shrinks the same way, in proportion to how far the filtered delay is above half the
///   target (LEDBAT's linear controller around a target of 50 ms, with the halving at 100
///   ms kept as the backstop). Once the rate is `releaseFactor` times the
///   measured throughput it no longer holds anything back, and the controller lets go
///   (`rate` nil) until the delay rises again.
/// - Hostile samples: negative, NaN, infinite or over `maxRoundTripMs` round trips are
///   ignored; a clock that jumps back restarts the periods it measures (base bucket,
///   throughput period, halving hold) instead of waiting for the old time to come back.
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
        public var currentSamples = 2
        /// Fraction of the rate added per second when the delay is at the base.
        public var growthPerSecond: Double = 0.25
        /// Growth stops when the queueing delay reaches this fraction of the target.
        public var growthStopFraction: Double = 0.5
        /// Whether the newest sample alone (not only the filtered delay) can stop growth.
        public var growOnLatestSample = true
        /// Whether a filtered delay between the growth stop and the target shrinks the rate.
        public var easesAboveGrowthStop = true
        /// Round trips above this (ms) are not measurements: ignored.
        public var maxRoundTripMs: Double = 60_000
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

        /// The controller as first measured in bench/shaping.sh (a 4-sample filter, growth
        /// up to the target on the filtered delay only), kept to compare against.
        public static var reference: Configuration {
            var configuration = Configuration()
            configuration.currentSamples = 4
            configuration.growthStopFraction = 1
            configuration.growOnLatestSample = false
            configuration.easesAboveGrowthStop = false
            return configuration
        }
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
        let bytes = max(0, bytes)
        lastActivityMs = max(lastActivityMs, nowMs)
        let (total, overflow) = bytesSent.addingReportingOverflow(bytes)
        bytesSent = overflow ? .max : total
        guard let start = periodStartMs else {
            periodStartMs = nowMs
            periodBytes = bytes
            return
        }
        let elapsed = nowMs - start
        if elapsed < 0 {  // the clock went back: a new period from here
            periodStartMs = nowMs
            periodBytes = bytes
        } else if elapsed >= configuration.throughputPeriodMs {
            throughput = Double(periodBytes) * 1000 / Double(elapsed)
            periodStartMs = nowMs
            periodBytes = bytes
        } else {
            let (sum, overflow) = periodBytes.addingReportingOverflow(bytes)
            periodBytes = overflow ? .max : sum
        }
    }

    /// A round trip of `rttMs` measured at `nowMs`.
    public mutating func record(rttMs: Double, nowMs: Int64) {
        guard rttMs.isFinite, rttMs >= 0, rttMs <= configuration.maxRoundTripMs else { return }
        lastActivityMs = max(lastActivityMs, nowMs)
        if let last = baseHistory.last, nowMs < last.startMs {
            // The clock went back: the newest bucket starts again from here.
            baseHistory[baseHistory.count - 1] = Bucket(startMs: nowMs, minimum: min(last.minimum, rttMs))
        } else if let last = baseHistory.last, nowMs - last.startMs < configuration.baseBucketMs {
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
            let latest = max(0, rttMs - (baseDelayMs ?? rttMs))
            grow(nowMs: nowMs, filteredMs: queue, latestMs: configuration.growOnLatestSample ? latest : 0)
        }
    }

    private mutating func decrease(nowMs: Int64, roundTripMs: Double) {
        lastGrowthMs = nowMs
        let hold = max(Double(configuration.decreaseHoldMs), roundTripMs)
        if let last = lastDecreaseMs, nowMs >= last, Double(nowMs - last) < hold { return }
        let measured = throughput ?? currentPeriodRate(nowMs: nowMs)
        guard let from = [rate, measured].compactMap({ $0 }).min() else { return }
        rate = max(configuration.minRate, from / 2)
        lastDecreaseMs = nowMs
        halvings += 1
    }

    private mutating func grow(nowMs: Int64, filteredMs: Double, latestMs: Double) {
        defer { lastGrowthMs = nowMs }
        guard let current = rate, let since = lastGrowthMs, nowMs > since else { return }
        let seconds = min(1, Double(nowMs - since) / 1000)
        let stop = configuration.targetDelayMs * min(1, max(0.01, configuration.growthStopFraction))
        if configuration.easesAboveGrowthStop, filteredMs > stop {
            let over = min(1, (filteredMs - stop) / stop)
            rate = max(configuration.minRate, current * (1 - configuration.growthPerSecond * over * seconds))
            return
        }
        let headroom = max(0, (stop - max(filteredMs, latestMs)) / stop)
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
