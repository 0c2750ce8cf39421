/// A token bucket: `rate` tokens per second, up to `capacity` saved up; pure, with time
/// passed in (nanoseconds on any monotonic clock).
///
/// Two ways to spend:
/// - `take(_:now:)` spends only if the tokens are there (the relay's message rate: a message
///   over the rate is refused).
/// - `reserve(_:now:)` always spends, going into debt when the tokens are not there, and
///   says how long the caller waits until the debt is paid back: a large write (a 4 MiB
///   chunk) waits its turn as a whole instead of being split, and callers that reserve one
///   after another are served in that order (each waits behind the debt of those before).
///
/// A rate of 0 or less means no refill at all; use no bucket for "unlimited".
package struct TokenBucket: Sendable, Hashable {
    /// Tokens added per second.
    package private(set) var rate: Double
    /// The most tokens saved up (the burst).
    package private(set) var capacity: Double
    /// Tokens held now; negative while in debt.
    package private(set) var tokens: Double
    /// When `tokens` was last brought up to date.
    package private(set) var stampNs: Int64

    /// A full bucket at `now`.
    package init(rate: Double, capacity: Double, now: Int64) {
        self.rate = rate
        self.capacity = max(0, capacity)
        tokens = self.capacity
        stampNs = now
    }

    /// Takes `amount` tokens (one by default) if they are there at `now`; takes nothing otherwise.
    package mutating func take(_ amount: Double = 1, now: Int64) -> Bool {
        refill(now: now)
        guard tokens >= amount else { return false }
        tokens -= amount
        return true
    }

    /// Takes `amount` tokens at `now`, into debt if need be, and returns the nanoseconds until
    /// the balance is back to zero (0 when the tokens were there).
    package mutating func reserve(_ amount: Double, now: Int64) -> Int64 {
        refill(now: now)
        tokens -= amount
        return waitNs
    }

    /// Nanoseconds until the debt (if any) is paid back.
    package var waitNs: Int64 {
        guard tokens < 0 else { return 0 }
        guard rate > 0 else { return .max }
        let seconds = -tokens / rate
        return seconds >= 9e9 ? .max : Int64((seconds * 1e9).rounded(.up))
    }

    /// A new rate and capacity from `now` on; what was saved or owed is kept (savings
    /// clamped to the new capacity).
    package mutating func change(rate: Double, capacity: Double, now: Int64) {
        refill(now: now)
        self.rate = rate
        self.capacity = max(0, capacity)
        tokens = min(tokens, self.capacity)
    }

    /// Whether the bucket is full at `now`: it then behaves exactly as a new one would.
    package func isFull(now: Int64) -> Bool {
        var copy = self
        copy.refill(now: now)
        return copy.tokens >= copy.capacity
    }

    private mutating func refill(now: Int64) {
        guard now > stampNs else { return }
        if rate > 0 { tokens = min(capacity, tokens + Double(now - stampNs) * rate / 1e9) }
        stampNs = now
    }
}
