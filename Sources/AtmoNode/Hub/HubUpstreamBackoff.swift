/// When a blob whose upstream download failed may be fetched again: not at once by every
/// request (a client asking again and again for a file whose upstream bytes are wrong would
/// start a download each time), but after `base`, doubled per further failure up to
/// `ceiling`. A verified download forgets the blob. Pure: times come in as instants.
/// Bounded: past `capacity` blobs, the ones whose wait is over go first, then the soonest.
struct HubUpstreamBackoff: Sendable {
    var base: Duration = .seconds(30)
    var ceiling: Duration = .seconds(3600)
    var capacity = 4096

    private struct Failure: Sendable {
        var count: Int
        var retryAt: ContinuousClock.Instant
        var refusal: HubUpstreamRefusal?
    }
    private var failures: [String: Failure] = [:]

    init(base: Duration = .seconds(30), ceiling: Duration = .seconds(3600)) {
        self.base = base
        self.ceiling = ceiling
    }

    /// How long `key` must still wait at `now`; nil: it may be fetched.
    func wait(_ key: String, now: ContinuousClock.Instant) -> Duration? {
        guard let failure = failures[key], failure.retryAt > now else { return nil }
        return failure.retryAt - now
    }

    /// Why the last download of `key` failed, when the upstream refused it (while it waits).
    func refusal(_ key: String, now: ContinuousClock.Instant) -> HubUpstreamRefusal? {
        guard let failure = failures[key], failure.retryAt > now else { return nil }
        return failure.refusal
    }

    /// A download of `key` failed at `now`: its wait starts (or doubles). A rate limit
    /// waits what the upstream asked instead (`refusal.retryAfter`, at most `ceiling`), and
    /// does not count as a failure of the blob.
    mutating func failed(_ key: String, now: ContinuousClock.Instant, refusal: HubUpstreamRefusal? = nil) {
        var count = (failures[key]?.count ?? 0) + 1
        var delay = base
        for _ in 1..<min(count, 32) where delay < ceiling { delay = delay * 2 }
        if refusal?.kind == .rateLimited {
            count -= 1
            delay = refusal?.retryAfter ?? base
        }
        if delay > ceiling { delay = ceiling }
        if failures[key] == nil, failures.count >= capacity {
            failures = failures.filter { $0.value.retryAt > now }
            if failures.count >= capacity, let soonest = failures.min(by: { $0.value.retryAt < $1.value.retryAt }) {
                failures[soonest.key] = nil
            }
        }
        failures[key] = Failure(count: count, retryAt: now + delay, refusal: refusal)
    }

    /// A download of `key` was verified.
    mutating func succeeded(_ key: String) {
        failures[key] = nil
    }

    var count: Int { failures.count }
}
